package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// stores runs fn against a local store and a real MinIO bucket.
func stores(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Run("local", func(t *testing.T) {
		s, err := storage.OpenLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("minio", func(t *testing.T) {
		s, err := storage.OpenS3(context.Background(), storagetest.StartMinIO(t))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

// clock is a settable time for the handles of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func handle(s Store, url string, c *clock) *Lease {
	l := NewLease(s, url, 10*time.Second)
	l.now = c.now
	return l
}

// The lease's life: taken at epoch 1, refused to a second node while
// live, renewed; once it lapses the second node takes it at epoch 2 and
// the first learns it lost it at its next renewal; a release hands it
// over at once.
func TestLeaseTakeoverAndFencing(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		a, b := handle(s, "http://a:3110", c), handle(s, "http://b:3110", c)
		rec, err := a.Acquire(ctx)
		if err != nil || rec.Epoch != 1 || rec.URL != "http://a:3110" {
			t.Fatalf("first acquire: %+v %v", rec, err)
		}
		var held *HeldError
		if _, err := b.Acquire(ctx); !errors.As(err, &held) || held.Record.URL != "http://a:3110" || held.Record.Epoch != 1 {
			t.Fatalf("second node while the lease is live: %v", err)
		}
		c.add(6 * time.Second)
		if rec, err := a.Renew(ctx); err != nil || rec.Epoch != 1 || !rec.Expires.Equal(c.now().Add(10*time.Second)) {
			t.Fatalf("renew: %+v %v", rec, err)
		}
		c.add(6 * time.Second) // still live: renewed 6 s ago for 10 s
		if _, err := b.Acquire(ctx); !errors.As(err, &held) {
			t.Fatalf("acquire of a renewed lease: %v", err)
		}
		c.add(5 * time.Second) // a paused past its TTL
		rec, err = b.Acquire(ctx)
		if err != nil || rec.Epoch != 2 || rec.Holder != b.Holder() {
			t.Fatalf("takeover: %+v %v", rec, err)
		}
		if _, err := a.Renew(ctx); !errors.Is(err, ErrLost) {
			t.Fatalf("the old holder's renewal after a takeover: %v, want ErrLost", err)
		}
		if _, ok := a.Held(); ok {
			t.Fatal("the old holder still thinks it holds the lease")
		}
		if _, err := a.Acquire(ctx); !errors.As(err, &held) || held.Record.Epoch != 2 {
			t.Fatalf("the old holder re-acquiring a live lease: %v", err)
		}
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if rec, err := a.Acquire(ctx); err != nil || rec.Epoch != 3 {
			t.Fatalf("acquire after a release: %+v %v", rec, err)
		}
	})
}

// Nodes starting at the same moment: exactly one gets the lease, the
// others are told who did.
func TestLeaseOneWinnerOfARace(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		const nodes = 6
		var wg sync.WaitGroup
		got := make([]error, nodes)
		hs := make([]*Lease, nodes)
		for i := range nodes {
			hs[i] = handle(s, "http://node"+string(rune('0'+i)), c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, got[i] = hs[i].Acquire(ctx)
			}()
		}
		wg.Wait()
		winners := 0
		for i, err := range got {
			var held *HeldError
			switch {
			case err == nil:
				winners++
			case errors.As(err, &held):
				if held.Record.Holder == hs[i].Holder() {
					t.Fatalf("node %d told it lost to itself", i)
				}
			default:
				t.Fatalf("node %d: %v", i, err)
			}
		}
		if winners != 1 {
			t.Fatalf("%d nodes hold the lease, want exactly 1", winners)
		}
		rec, _, _, err := hs[0].Read(ctx)
		if err != nil || rec.Epoch != 1 {
			t.Fatalf("stored lease %+v %v", rec, err)
		}
	})
}
