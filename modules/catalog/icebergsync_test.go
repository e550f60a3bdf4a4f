package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lakehouse/modules/catalog"
	"lakehouse/modules/catalog/iceberg"
	"lakehouse/modules/storage"
)

func tags(t *testing.T, tabs *iceberg.Tables, name string) []string {
	t.Helper()
	tb, err := tabs.Load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := range tb.Metadata().Refs() {
		if n != "main" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Datasets made before Iceberg was on get one snapshot per version at the
// next open (idempotently); a manifest object above the catalog (an
// uncommitted version) is removed; a new metadata database rehydrates
// from the bucket without resurrecting it; gc's version pruning removes
// the pruned versions' snapshots.
func TestIcebergBackfillRehydrateGC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	objs, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "meta.duckdb")
	st, err := catalog.Open(ctx, db, objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := []catalog.Column{{Name: "id", Type: "BIGINT"}}
	var files []catalog.File
	for v := 1; v <= 3; v++ {
		key := fmt.Sprintf("datasets/a/%d.parquet", v)
		put(t, objs, key, "not parquet: registered without statistics")
		files = append(files, catalog.File{Key: key, Rows: 1})
		if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "a", Schema: schema, Files: slices.Clone(files)}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, objs, "datasets/b/1.parquet", "x")
	if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "b", Schema: schema, Files: []catalog.File{{Key: "datasets/b/1.parquet"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = catalog.Open(ctx, db, objs, nil, catalog.WithIceberg("default"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := st.StartSync(); rep.Snapshots != 3 || rep.Tables != 2 {
		t.Fatalf("backfill at open: %+v", rep)
	}
	if rep, err := st.SyncIceberg(ctx); err != nil || rep.Snapshots != 0 {
		t.Fatalf("second sync: %+v %v", rep, err)
	}
	tabs := st.Iceberg()
	if got := tags(t, tabs, "a"); !slices.Equal(got, []string{"v1", "v2", "v3"}) {
		t.Fatalf("tags %v", got)
	}
	if h, _ := tabs.Head(ctx, "b"); h != 0 {
		t.Fatalf("deleted dataset has a table at %d", h)
	}
	if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "a", Schema: schema, Files: files[:1]}); err != nil {
		t.Fatal(err)
	}
	if h, _ := tabs.Head(ctx, "a"); h != 4 {
		t.Fatalf("head after v4 = %d", h)
	}
	st.Close()

	// An uncommitted version's manifest object (written before a commit
	// that never happened) goes at the next open.
	put(t, objs, catalog.ManifestKey("a", 5), `{"name":"a","version":5,"schema_fingerprint":"x","files":[]}`)
	st, err = catalog.Open(ctx, db, objs, nil, catalog.WithIceberg("default"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := st.StartSync(); rep.Uncommitted != 1 {
		t.Fatalf("sync: %+v", rep)
	}
	put(t, objs, catalog.ManifestKey("a", 5), `{"name":"a","version":5,"schema_fingerprint":"x","files":[]}`)
	st.Close()

	// A new metadata database rehydrates from the bucket; Iceberg's head
	// bounds it, so the uncommitted v5 does not come back.
	os.Remove(db)
	os.Remove(db + ".wal")
	st, err = catalog.Open(ctx, db, objs, nil, catalog.WithIceberg("default"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Get(ctx, "a")
	if err != nil || m.Version != 4 {
		t.Fatalf("rehydrated a: v%d %v", m.Version, err)
	}
	if _, err := st.Get(ctx, "b"); err == nil {
		t.Fatal("deleted dataset came back")
	}

	rep, err := st.GC(ctx, catalog.GCOptions{KeepVersions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.PrunedVersions["a"], []int{1, 2}) {
		t.Fatalf("pruned %+v", rep.PrunedVersions)
	}
	if got := tags(t, st.Iceberg(), "a"); !slices.Equal(got, []string{"v3", "v4"}) {
		t.Fatalf("tags after gc %v", got)
	}
	if h, _ := st.Iceberg().Head(ctx, "a"); h != 4 {
		t.Fatalf("head after gc = %d", h)
	}
}
