package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// PublicList hides reserved keys on every backend, refills pages so a
// small limit still makes progress, and jumps over the "_" range.
func TestPublicListHidesReserved(t *testing.T) {
	ctx := context.Background()
	backends := map[string]func(t *testing.T) storage.Store{
		"local": func(t *testing.T) storage.Store {
			l, err := storage.OpenLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		"s3": func(t *testing.T) storage.Store {
			cfg := storagetest.StartMinIO(t)
			s, err := storage.OpenS3(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			var want []string
			put := func(k string) {
				if _, err := st.Put(ctx, k, strings.NewReader("x"), 1); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range []string{"A", "Z/x", "a", "datasets/d/metadatax", "datasets/d/p.parquet", "z"} {
				put(k)
				want = append(want, k)
			}
			for i := range 30 {
				put(fmt.Sprintf("_catalog/manifests/d/%02d.json", i))
			}
			put("_vectors/i/wal")
			put("datasets/d/metadata/v1.json")
			for _, limit := range []int{1, 2, 5, 100} {
				var got []string
				cursor, calls := "", 0
				for {
					page, err := storage.PublicList(ctx, st, "", cursor, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Objects) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(page.Objects))
					}
					for _, o := range page.Objects {
						got = append(got, o.Key)
					}
					if calls++; page.Cursor == "" || calls > 20 {
						break
					}
					cursor = page.Cursor
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("limit %d: listed %v, want %v", limit, got, want)
				}
			}
		})
	}
}
