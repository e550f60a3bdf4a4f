package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

func openStore(t *testing.T, dir string) (*catalog.Store, storage.Store) {
	t.Helper()
	objs, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := catalog.Open(context.Background(), filepath.Join(dir, "meta.duckdb"), objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, objs
}

func put(t *testing.T, objs storage.Store, key, body string) {
	t.Helper()
	if _, err := objs.Put(context.Background(), key, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
}

func TestFingerprintAndDatasetID(t *testing.T) {
	// Fixed values: clients of the original compute the same ones.
	// Reference values computed independently (Python uuid5 / hashlib).
	if got := catalog.DatasetID("candidates"); got != "d1fe2e25-da42-5599-b911-f56f6631569a" {
		t.Fatalf("dataset id %q", got)
	}
	if got := catalog.Fingerprint(schemaA); got != "dccc4041e4dfcf1a14fca98ba4db6c10e0f3980e3e638906bd24e64c9d1cc785" {
		t.Fatalf("fingerprint %q", got)
	}

	fp := catalog.Fingerprint(schemaA)
	fp2 := catalog.Fingerprint([]catalog.Column{{Name: "id", Type: "BIGINT", Nullable: true}, {Name: "name", Type: "VARCHAR"}})
	if fp != fp2 {
		t.Fatal("nullability must not change the fingerprint")
	}
	if catalog.Fingerprint([]catalog.Column{{Name: "idn", Type: "ameVARCHAR"}}) == catalog.Fingerprint([]catalog.Column{{Name: "id", Type: "nameVARCHAR"}}) {
		t.Fatal("separator missing")
	}
}

func TestWatchRebuildAndGC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, objs := openStore(t, dir)
	var mu sync.Mutex
	var changes []catalog.Change
	st.Watch(func(c catalog.Change) {
		// A watcher may read the catalog: the new version is visible.
		if !c.Deleted {
			if m, err := st.Get(ctx, c.Name); err != nil || m.Version != c.Version {
				t.Errorf("watcher sees %v %v", m.Version, err)
			}
		}
		mu.Lock()
		changes = append(changes, c)
		mu.Unlock()
	})
	put(t, objs, "datasets/a/1.parquet", "one")
	put(t, objs, "datasets/a/2.parquet", "two")
	put(t, objs, "datasets/b/1.parquet", "bee")
	put(t, objs, "datasets/a/orphan.parquet", "orphan")
	// Key filters live and die with their parts.
	put(t, objs, catalog.KeyFilterObject("datasets/a/2.parquet"), "filter of a live part")
	put(t, objs, catalog.KeyFilterObject("datasets/a/orphan.parquet"), "filter of an orphan")
	reg := func(name, key string) catalog.Manifest {
		m, _, err := st.Register(ctx, catalog.RegisterRequest{Name: name, Schema: schemaA, Files: []catalog.File{{Key: key, Rows: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	reg("a", "datasets/a/1.parquet")
	reg("a", "datasets/a/2.parquet")
	reg("b", "datasets/b/1.parquet")
	if err := st.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(changes) != 4 || !changes[3].Deleted || changes[1].Version != 2 {
		t.Fatalf("changes: %+v", changes)
	}
	mu.Unlock()
	before, _ := st.List(ctx)
	beforeV, _ := st.Versions(ctx, "a")

	// Rebuild from the bucket alone into a brand-new database file.
	st.Close()
	os.Remove(filepath.Join(dir, "meta.duckdb"))
	os.Remove(filepath.Join(dir, "meta.duckdb.wal"))
	st2, err := catalog.Open(ctx, filepath.Join(dir, "meta.duckdb"), objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	// A new metadata database over a bucket with manifests rehydrates
	// itself at open; an explicit rebuild gives the same catalog.
	if l, _ := st2.List(ctx); !reflect.DeepEqual(before, l) {
		t.Fatalf("rehydrated at open:\n%+v\nwant\n%+v", l, before)
	}
	rep, err := st2.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Datasets != 2 || rep.Versions != 3 || rep.Deleted != 1 {
		t.Fatalf("rebuild report %+v", rep)
	}
	after, _ := st2.List(ctx)
	afterV, _ := st2.Versions(ctx, "a")
	if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(beforeV, afterV) {
		t.Fatalf("rebuild differs:\n%+v\n%+v", before, after)
	}

	// GC: b's file goes, a's orphan goes only once past the grace period.
	gc, err := st2.GC(ctx, catalog.GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gc.RemovedKeys, []string{"datasets/b/1.parquet"}) || !reflect.DeepEqual(gc.PurgedDatasets, []string{"b"}) {
		t.Fatalf("gc: %+v", gc)
	}
	gc, err = st2.GC(ctx, catalog.GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gc.RemovedKeys, []string{"datasets/a/orphan.parquet", catalog.KeyFilterObject("datasets/a/orphan.parquet")}) {
		t.Fatalf("gc orphan: %+v", gc)
	}
	for _, k := range []string{"datasets/a/1.parquet", "datasets/a/2.parquet", catalog.KeyFilterObject("datasets/a/2.parquet")} {
		if _, err := objs.Stat(ctx, k); err != nil {
			t.Fatalf("gc removed live file %s: %v", k, err)
		}
	}
	if _, err := objs.Stat(ctx, catalog.ManifestKey("b", 1)); err == nil {
		t.Fatal("b's manifest survived gc")
	}
	// Keep only the newest version of a: v1 and its file go.
	gc, err = st2.GC(ctx, catalog.GCOptions{KeepVersions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gc.PrunedVersions, map[string][]int{"a": {1}}) || !reflect.DeepEqual(gc.RemovedKeys, []string{"datasets/a/1.parquet"}) {
		t.Fatalf("keep-versions gc: %+v", gc)
	}
	if vs, _ := st2.Versions(ctx, "a"); len(vs) != 1 || vs[0].Version != 2 {
		t.Fatalf("versions after prune: %+v", vs)
	}
	if _, err := objs.Stat(ctx, "datasets/a/2.parquet"); err != nil {
		t.Fatalf("kept version's file removed: %v", err)
	}
	if _, err := objs.Stat(ctx, catalog.ManifestKey("a", 1)); err == nil {
		t.Fatal("pruned version's manifest object survived")
	}
}

// A migration whose recorded checksum no longer matches is a start-up error.
func TestTamperedMigrationStopsStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, objs := openStore(t, dir)
	if _, err := st.MetaDB().Exec(`UPDATE schema_migrations SET checksum = 'bogus' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err := catalog.Open(ctx, filepath.Join(dir, "meta.duckdb"), objs, nil)
	if err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
		t.Fatalf("open with tampered migration: %v", err)
	}
}

// TestWatchCarriesManifestAndUnsubscribes: a change carries the new
// version's manifest, gc tells watchers which versions it pruned, and a
// watcher that unsubscribed hears nothing more.
func TestWatchCarriesManifestAndUnsubscribes(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	var got []catalog.Change
	unwatch := st.Watch(func(c catalog.Change) { got = append(got, c) })
	var other int
	st.Watch(func(catalog.Change) { other++ })
	for _, k := range []string{"datasets/a/1.parquet", "datasets/a/2.parquet"} {
		put(t, objs, k, k)
		if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "a", Schema: schemaA, Files: []catalog.File{{Key: k, Rows: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[1].Manifest == nil || got[1].Manifest.Version != 2 || got[1].Manifest.Files[0].Key != "datasets/a/2.parquet" {
		t.Fatalf("changes: %+v", got)
	}
	if _, err := st.GC(ctx, catalog.GCOptions{KeepVersions: 1}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Name != "a" || !reflect.DeepEqual(got[2].Pruned, []int{1}) || got[2].Manifest != nil {
		t.Fatalf("prune change: %+v", got)
	}
	unwatch()
	if err := st.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || other != 4 {
		t.Fatalf("after unwatch: %d changes, other watcher %d", len(got), other)
	}
}
