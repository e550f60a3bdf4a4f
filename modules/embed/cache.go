package embed

import (
	"container/list"
	"context"
	"crypto/sha256"
	"slices"
	"sync"

	"lakehouse/modules/embed/remote"
)

// Cached wraps an Embedder with an LRU cache keyed by (model, purpose,
// sha256(text)): repeated texts (queries, re-indexed rows) skip the model.
// It is the Embedder the module provides to other modules.
type Cached struct {
	inner Embedder
	cache *LRU
	disk  *DiskCache // nil: memory only
}

// NewCached wraps inner with cache (nil cache = no caching).
func NewCached(inner Embedder, cache *LRU) *Cached { return &Cached{inner: inner, cache: cache} }

// WithDisk adds disk below the memory cache: a text missing from memory
// is looked up there before the model is asked, and what the model
// answers is kept in both.
func (c *Cached) WithDisk(disk *DiskCache) *Cached {
	c.disk = disk
	return c
}

// Model implements Embedder.
func (c *Cached) Model() string { return c.inner.Model() }

// Dimension implements Embedder.
func (c *Cached) Dimension() int { return c.inner.Dimension() }

// Inner returns the wrapped provider.
func (c *Cached) Inner() Embedder { return c.inner }

// EmbedBatch implements Embedder: cached texts are answered from memory,
// the rest (each distinct text once) go to the provider in one call.
// Every error carries its HTTP answer (see classify), so each route that
// embeds answers a provider failure alike.
func (c *Cached) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	out, err := c.embedBatch(ctx, texts)
	return out, classify(err)
}

func (c *Cached) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	if c.cache == nil || (c.cache.capacity == 0 && c.disk == nil) {
		c.cache.count(0, len(texts))
		return c.inner.EmbedBatch(ctx, texts)
	}
	model := c.inner.Model()
	purpose := byte(remote.PurposeOf(ctx))
	out := make([][]float32, len(texts))
	keys := make([]cacheKey, len(texts))
	var missTexts []string
	missAt := map[cacheKey][]int{}
	hits := 0
	for i, t := range texts {
		keys[i] = cacheKey{model: model, purpose: purpose, sum: sha256.Sum256([]byte(t))}
		if v, ok := c.cache.get(keys[i]); ok {
			out[i] = v
			hits++
			continue
		}
		if v, ok := c.disk.get(keys[i]); ok {
			c.cache.put(keys[i], v)
			out[i] = v
			hits++
			continue
		}
		if _, seen := missAt[keys[i]]; !seen {
			missTexts = append(missTexts, t)
		}
		missAt[keys[i]] = append(missAt[keys[i]], i)
	}
	c.cache.count(hits, len(texts)-hits)
	if len(missTexts) == 0 {
		return out, nil
	}
	vecs, err := c.inner.EmbedBatch(ctx, missTexts)
	if err != nil {
		return nil, err
	}
	for j, t := range missTexts {
		k := cacheKey{model: model, purpose: purpose, sum: sha256.Sum256([]byte(t))}
		c.cache.put(k, vecs[j])
		_ = c.disk.put(k, vecs[j]) // a cache: a failed write costs a later re-embed
		for n, i := range missAt[k] {
			if n == 0 {
				out[i] = vecs[j]
			} else {
				out[i] = slices.Clone(vecs[j])
			}
		}
	}
	return out, nil
}

type cacheKey struct {
	model   string
	purpose byte
	sum     [32]byte
}

type cacheEntry struct {
	key cacheKey
	vec []float32
}

// LRU is a fixed-capacity least-recently-used map of vectors with
// hit/miss counters. Vectors are copied in and out, so callers may keep
// and modify what they get.
type LRU struct {
	mu       sync.Mutex
	capacity int
	ll       *list.List
	items    map[cacheKey]*list.Element
	hits     uint64
	misses   uint64
}

// NewLRU returns a cache of capacity entries (0 = off, counters only).
func NewLRU(capacity int) *LRU {
	return &LRU{capacity: max(capacity, 0), ll: list.New(), items: map[cacheKey]*list.Element{}}
}

func (l *LRU) get(k cacheKey) ([]float32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.items[k]
	if !ok {
		return nil, false
	}
	l.ll.MoveToFront(e)
	return slices.Clone(e.Value.(*cacheEntry).vec), true
}

func (l *LRU) put(k cacheKey, v []float32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capacity == 0 {
		return
	}
	if e, ok := l.items[k]; ok {
		e.Value.(*cacheEntry).vec = slices.Clone(v)
		l.ll.MoveToFront(e)
		return
	}
	l.items[k] = l.ll.PushFront(&cacheEntry{key: k, vec: slices.Clone(v)})
	for l.ll.Len() > l.capacity {
		old := l.ll.Back()
		l.ll.Remove(old)
		delete(l.items, old.Value.(*cacheEntry).key)
	}
}

func (l *LRU) count(hits, misses int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.hits += uint64(hits)
	l.misses += uint64(misses)
	l.mu.Unlock()
}

// CacheStats is the body of GET /v1/embed/stats.
type CacheStats struct {
	Hits     uint64  `json:"hits"`
	Misses   uint64  `json:"misses"`
	HitRate  float64 `json:"hit_rate"`
	Size     int     `json:"size"`
	Capacity int     `json:"capacity"`
}

// Stats returns the counters and the current entry count.
func (l *LRU) Stats() CacheStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := CacheStats{Hits: l.hits, Misses: l.misses, Size: l.ll.Len(), Capacity: l.capacity}
	if total := l.hits + l.misses; total > 0 {
		s.HitRate = float64(l.hits) / float64(total)
	}
	return s
}
