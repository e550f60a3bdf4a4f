package embed

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
)

// countingEmbedder returns [len(text), call#] and counts the texts it saw.
type countingEmbedder struct {
	model string
	seen  atomic.Int64
}

func (c *countingEmbedder) Model() string  { return c.model }
func (c *countingEmbedder) Dimension() int { return 2 }
func (c *countingEmbedder) EmbedBatch(_ context.Context, texts []string) ([][]float32, error) {
	c.seen.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), 1}
	}
	return out, nil
}

func TestCachedHitsMissesAndEviction(t *testing.T) {
	inner := &countingEmbedder{model: "m1"}
	lru := NewLRU(2)
	c := NewCached(inner, lru)
	ctx := context.Background()
	v, err := c.EmbedBatch(ctx, []string{"a", "bb", "a"})
	if err != nil || len(v) != 3 || v[2][0] != 1 {
		t.Fatalf("v=%v err=%v", v, err)
	}
	if inner.seen.Load() != 2 {
		t.Fatalf("duplicate text embedded twice: %d", inner.seen.Load())
	}
	v[0][0] = 99 // callers may scribble on what they get
	v, _ = c.EmbedBatch(ctx, []string{"a"})
	if v[0][0] != 1 || inner.seen.Load() != 2 {
		t.Fatalf("cache hit = %v, provider calls %d", v, inner.seen.Load())
	}
	c.EmbedBatch(ctx, []string{"ccc"}) // evicts "bb" (least recently used)
	c.EmbedBatch(ctx, []string{"bb"})
	if inner.seen.Load() != 4 {
		t.Fatalf("provider saw %d texts, want 4", inner.seen.Load())
	}
	s := lru.Stats()
	if s.Hits != 1 || s.Misses != 5 || s.Size != 2 || math.Abs(s.HitRate-1.0/6) > 1e-9 {
		t.Fatalf("stats %+v", s)
	}
	// Same text, other model or purpose: different keys.
	other := NewCached(&countingEmbedder{model: "m2"}, lru)
	other.EmbedBatch(ctx, []string{"bb"})
	c.EmbedBatch(WithPurpose(ctx, Query), []string{"bb"})
	if s := lru.Stats(); s.Hits != 1 {
		t.Fatalf("model/purpose must be part of the key: %+v", s)
	}
}

func TestCacheOff(t *testing.T) {
	inner := &countingEmbedder{model: "m"}
	lru := NewLRU(0)
	c := NewCached(inner, lru)
	c.EmbedBatch(context.Background(), []string{"a"})
	c.EmbedBatch(context.Background(), []string{"a"})
	if inner.seen.Load() != 2 || lru.Stats().Size != 0 || lru.Stats().Misses != 2 {
		t.Fatalf("seen %d stats %+v", inner.seen.Load(), lru.Stats())
	}
}

func TestCachedConcurrentUse(t *testing.T) {
	inner := &countingEmbedder{model: "m"}
	c := NewCached(inner, NewLRU(8))
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				var v [][]float32
				v, err = c.EmbedBatch(context.Background(), []string{"a", "bb", string(rune('c' + (i+g)%12))})
				if err == nil && (len(v) != 3 || v[1][0] != 2) {
					err = context.DeadlineExceeded // any non-nil marker
				}
			}
			done <- err
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if s := c.cache.Stats(); s.Hits+s.Misses != 600 || s.Size > 8 {
		t.Fatalf("stats %+v", s)
	}
}
