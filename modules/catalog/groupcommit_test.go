package catalog_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/catalog"
)

// TestGroupCommitMixedRequestsEachGetTheirVersion: appends and
// non-appends of one dataset racing each other. Every Register call must
// come back with the version that holds its files (or an error), never
// with an empty manifest and no error, whatever batch another goroutine
// took its request into.
func TestGroupCommitMixedRequestsEachGetTheirVersion(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	put(t, objs, "datasets/mix/seed.parquet", "seed")
	if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "mix", Schema: schemaA,
		Files: []catalog.File{{Key: "datasets/mix/seed.parquet", Rows: 1}}}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		put(t, objs, fmt.Sprintf("datasets/mix/%02d.parquet", i), fmt.Sprintf("part %d", i))
	}
	type result struct {
		i        int
		m        catalog.Manifest
		existing bool
		err      error
	}
	res := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("datasets/mix/%02d.parquet", i)
			// Every fourth request replaces the whole dataset with its one
			// part; the rest append.
			req := catalog.RegisterRequest{Name: "mix", Schema: schemaA, Files: []catalog.File{{Key: key, Rows: 1}},
				Append: i%4 != 0, AllowSchemaChange: i%4 == 0}
			m, ex, err := st.Register(ctx, req)
			res <- result{i, m, ex, err}
		}()
	}
	wg.Wait()
	close(res)
	for r := range res {
		key := fmt.Sprintf("datasets/mix/%02d.parquet", r.i)
		if r.err != nil {
			t.Errorf("request %d: %v", r.i, r.err)
			continue
		}
		if r.m.Version == 0 || r.m.Name != "mix" {
			t.Errorf("request %d returned no version and no error: %+v existing=%v", r.i, r.m, r.existing)
			continue
		}
		if !slices.ContainsFunc(r.m.Files, func(f catalog.File) bool { return f.Key == key }) {
			t.Errorf("request %d: version %d does not hold its part %s", r.i, r.m.Version, key)
		}
		if got, err := st.GetVersion(ctx, "mix", r.m.Version); err != nil || !slices.Equal(keysOf(got), keysOf(r.m)) {
			t.Errorf("request %d: answered v%d %v, the catalog has %v (%v)", r.i, r.m.Version, keysOf(r.m), keysOf(got), err)
		}
	}
}

func keysOf(m catalog.Manifest) []string {
	out := make([]string, len(m.Files))
	for i, f := range m.Files {
		out[i] = f.Key
	}
	return out
}

// TestGroupCommitCallerReturnsAfterWatchers: a caller whose append was
// committed by another goroutine's batch returns only after the watchers
// saw that version (the query module refreshes its views there, so "a
// new version is queryable as soon as ingest answers" must hold for
// every member of a group commit, not only for the one that ran it).
func TestGroupCommitCallerReturnsAfterWatchers(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	var mu sync.Mutex
	seen := 0
	st.Watch(func(c catalog.Change) {
		time.Sleep(5 * time.Millisecond) // a watcher that takes a while (views refresh)
		mu.Lock()
		seen = max(seen, c.Version)
		mu.Unlock()
	})
	const n = 24
	for i := range n {
		put(t, objs, fmt.Sprintf("datasets/w/%02d.parquet", i), fmt.Sprintf("part %d", i))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "w", Schema: schemaA, Append: true,
				Files: []catalog.File{{Key: fmt.Sprintf("datasets/w/%02d.parquet", i), Rows: 1}}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			s := seen
			mu.Unlock()
			if s < m.Version {
				t.Errorf("append %d returned v%d before the watchers saw it (they saw v%d)", i, m.Version, s)
			}
		}()
	}
	wg.Wait()
	m, err := st.Get(ctx, "w")
	if err != nil || m.RowCount != n || len(m.Files) != n {
		t.Fatalf("after %d appends: %+v %v", n, m, err)
	}
}
