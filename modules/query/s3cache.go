package query

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"lakehouse/modules/storage"
)

// partCache is the read-through cache of Parquet parts for remote (S3)
// storage: DuckDB here cannot load httpfs (only parquet, json, icu,
// core_functions and autocomplete are linked in, and extension loading is
// off), so parts are copied to local files that views read.
//
// Entries are keyed by key + ETag, so an object overwritten in the bucket
// is fetched again rather than served stale. The total size is bounded:
// least recently used parts are evicted, except parts pinned by a running
// query (a query may briefly push the cache past its bound).
type partCache struct {
	store storage.Store
	dir   string
	max   int64
	log   *slog.Logger

	mu       sync.Mutex
	entries  map[string]*cacheEntry // id (key + etag) → entry
	lru      *list.List             // *cacheEntry, most recent first
	used     int64
	fetching map[string]*fetchCall

	hits, misses, evictions atomic.Int64
}

type cacheEntry struct {
	id, path string
	size     int64
	refs     int
	elem     *list.Element
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// newPartCache starts an empty cache in dir (anything left there by a
// previous process is removed: the index lives in memory).
func newPartCache(store storage.Store, dir string, maxBytes int64, log *slog.Logger) (*partCache, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("query: clear part cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("query: part cache dir: %w", err)
	}
	return &partCache{
		store: store, dir: dir, max: maxBytes, log: log,
		entries: map[string]*cacheEntry{}, lru: list.New(), fetching: map[string]*fetchCall{},
	}, nil
}

func (c *partCache) Lazy() bool  { return true }
func (c *partCache) Dir() string { return c.dir }

// Acquire implements partSource: each key is checked against the bucket
// (its current ETag), fetched when missing, and pinned until release.
func (c *partCache) Acquire(ctx context.Context, keys []string) ([]string, func(), error) {
	var pinned []*cacheEntry
	release := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range pinned {
			e.refs--
		}
		pinned = nil
		c.evictLocked()
	}
	paths := make([]string, len(keys))
	for i, k := range keys {
		e, err := c.acquireOne(ctx, k)
		if err != nil {
			release()
			return nil, func() {}, err
		}
		pinned = append(pinned, e)
		paths[i] = e.path
	}
	return paths, release, nil
}

func (c *partCache) acquireOne(ctx context.Context, key string) (*cacheEntry, error) {
	info, err := c.store.Stat(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", key, err)
	}
	id := key + "\x00" + info.ETag
	for {
		c.mu.Lock()
		if e, ok := c.entries[id]; ok {
			e.refs++
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			c.hits.Add(1)
			return e, nil
		}
		if f, ok := c.fetching[id]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err != nil {
				return nil, f.err
			}
			continue // now in entries (unless already evicted: fetch again)
		}
		f := &fetchCall{done: make(chan struct{})}
		c.fetching[id] = f
		c.mu.Unlock()
		c.misses.Add(1)
		e, err := c.fetch(ctx, key, id)
		c.mu.Lock()
		delete(c.fetching, id)
		if err == nil {
			e.refs = 1
			e.elem = c.lru.PushFront(e)
			c.entries[id] = e
			c.used += e.size
			c.evictLocked()
		}
		f.err = err
		close(f.done)
		c.mu.Unlock()
		return e, err
	}
}

// fetch copies the object to a file named after its id; the file appears
// complete or not at all (temp file + rename).
func (c *partCache) fetch(ctx context.Context, key, id string) (*cacheEntry, error) {
	sum := sha256.Sum256([]byte(id))
	path := filepath.Join(c.dir, hex.EncodeToString(sum[:16])+".parquet")
	rc, _, err := c.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", key, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(c.dir, "fetch-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", key, err)
	}
	n, err := io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("fetch %s: %w", key, err)
	}
	return &cacheEntry{id: id, path: path, size: n}, nil
}

// evictLocked drops unpinned parts, least recently used first, until the
// cache fits its bound.
func (c *partCache) evictLocked() {
	for el := c.lru.Back(); el != nil && c.used > c.max; {
		e := el.Value.(*cacheEntry)
		prev := el.Prev()
		if e.refs <= 0 {
			c.lru.Remove(el)
			delete(c.entries, e.id)
			c.used -= e.size
			c.evictions.Add(1)
			if err := os.Remove(e.path); err != nil && !os.IsNotExist(err) {
				c.log.Warn("query: evict cached part", "path", e.path, "err", err)
			}
		}
		el = prev
	}
}

// CacheStats describes the part cache.
type CacheStats struct {
	Entries   int   `json:"entries"`
	Bytes     int64 `json:"bytes"`
	MaxBytes  int64 `json:"max_bytes"`
	Hits      int64 `json:"hits"`
	Misses    int64 `json:"misses"`
	Evictions int64 `json:"evictions"`
}

func (c *partCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.entries), Bytes: c.used, MaxBytes: c.max,
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
}
