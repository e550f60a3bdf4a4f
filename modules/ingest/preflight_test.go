package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// countingCatalog counts the catalog calls an ingest makes.
type countingCatalog struct {
	catalog.Catalog
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingCatalog) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *countingCatalog) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprint(c.calls)
	c.calls = map[string]int{}
	return s
}

func (c *countingCatalog) Prepare(ctx context.Context, name string) (*catalog.Manifest, error) {
	c.count("Prepare")
	return c.Catalog.Prepare(ctx, name)
}

func (c *countingCatalog) Register(ctx context.Context, req catalog.RegisterRequest) (catalog.Manifest, bool, error) {
	c.count("Register")
	return c.Catalog.Register(ctx, req)
}

func (c *countingCatalog) Get(ctx context.Context, name string) (catalog.Manifest, error) {
	c.count("Get")
	return c.Catalog.Get(ctx, name)
}

func (c *countingCatalog) Versions(ctx context.Context, name string) ([]catalog.Manifest, error) {
	c.count("Versions")
	return c.Catalog.Versions(ctx, name)
}

func (c *countingCatalog) List(ctx context.Context) ([]catalog.Manifest, error) {
	c.count("List")
	return c.Catalog.List(ctx)
}

// countingStore counts Stat calls by key, the catalog's and ingest's.
type countingStore struct {
	storage.Store
	mu    sync.Mutex
	stats map[string]int
}

func (s *countingStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	s.mu.Lock()
	s.stats[key]++
	s.mu.Unlock()
	return s.Store.Stat(ctx, key)
}

// TestOneCatalogPreflightAndNoReStat: an ingest asks the catalog once
// before it builds the version (Prepare) and once to register it — the
// catalog applies the append, idempotency and drift rules itself — and a
// part ingest just published is checked in storage once, not again by the
// catalog.
func TestOneCatalogPreflightAndNoReStat(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: local, stats: map[string]int{}}
	store, err := catalog.Open(ctx, filepath.Join(dir, "meta.duckdb"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cat := &countingCatalog{Catalog: store, calls: map[string]int{}}
	ing := NewIngester(cat, st, Options{TempDir: filepath.Join(dir, "tmp")}, nil)
	r := &rig{ing: ing, dir: dir}

	ingest := func(csv, key string) Result {
		t.Helper()
		st.mu.Lock()
		st.stats = map[string]int{}
		st.mu.Unlock()
		res, err := ing.IngestFile(ctx, r.file(t, csv), Request{Dataset: "people", IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if calls := cat.take(); calls != "map[Prepare:1 Register:1]" {
			t.Errorf("catalog calls for one ingest: %s", calls)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		for k, n := range st.stats {
			if n > 1 {
				t.Errorf("%s stat'ed %d times", k, n)
			}
		}
		return res
	}
	if v1 := ingest("id,name\n1,ann\n", ""); v1.Manifest.Version != 1 {
		t.Fatalf("first: %+v", v1.Manifest)
	}
	v2 := ingest("id,name\n2,bob\n", "k2")
	if v2.Existing || v2.Manifest.Version != 2 || len(v2.Manifest.Files) != 2 || v2.Manifest.RowCount != 2 {
		t.Fatalf("append: %+v", v2.Manifest)
	}
	// Replays: by key (after another version), and by content.
	ingest("id,name\n3,cy\n", "")
	if again := ingest("id,name\n2,bob\n", "k2"); !again.Existing || again.Manifest.Version != 2 {
		t.Fatalf("replay by key: %+v", again)
	}
	if again := ingest("id,name\n1,ann\n", ""); !again.Existing || again.Manifest.Version != 3 {
		t.Fatalf("replay of content the latest version holds: %+v", again)
	}
	// The key names a version that does not hold these parts: a conflict.
	_, err = ing.IngestFile(ctx, r.file(t, "id,name\n9,zed\n"), Request{Dataset: "people", IdempotencyKey: "k2"})
	if err == nil || !errors.Is(err, catalog.ErrIdempotencyConflict) {
		t.Fatalf("reused key: %v", err)
	}
}
