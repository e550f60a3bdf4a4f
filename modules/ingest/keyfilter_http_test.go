package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// emailOf is person i's email: hex of a multiplicative hash, so every
// part's emails span the whole alphabet and min/max prune nothing.
func emailOf(i int) string { return fmt.Sprintf("%08x@mail.test", uint32(i)*2654435761) }

// contacts appends four parts of 50 people each, keyed by email.
func contacts(t *testing.T, s *apptest.Server) {
	t.Helper()
	for p := range 4 {
		var b strings.Builder
		b.WriteString("email,name,city\n")
		for i := p*50 + 1; i <= (p+1)*50; i++ {
			fmt.Fprintf(&b, "%s,person %d,City%d\n", emailOf(i), i, i%7)
		}
		ingestRaw(t, s, "name=contacts&key=email", []byte(b.String()), 201)
	}
}

// Keys in no order: the first change reads every part (their ranges all
// overlap) and leaves a key filter beside each; the next reads only the
// part holding its key, on local disk and on MinIO. A damaged filter
// makes its part read, never a key missed; gc takes a filter with its
// part.
func TestKeyFiltersPruneKeysInNoOrder(t *testing.T) {
	for _, backend := range []string{"local", "s3"} {
		t.Run(backend, func(t *testing.T) {
			var opts []func(*config.Config)
			if backend == "s3" {
				s3 := storagetest.StartMinIO(t)
				opts = append(opts, func(c *config.Config) { c.Storage.Backend = "s3"; c.Storage.S3 = s3 })
			}
			s := apptest.Start(t, opts...)
			store, err := storage.Open(context.Background(), s.Config.Storage, s.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			keyFilterScenario(t, s, store)
		})
	}
}

func keyFilterScenario(t *testing.T, s *apptest.Server, store storage.Store) {
	ctx := context.Background()
	contacts(t, s)
	// Person 120 lives in the third part; every part's range could hold it.
	first := postChange(t, s, "name=contacts&mode=upsert", "text/csv",
		fmt.Sprintf("email,name,city\n%s,person 120,Denver\n", emailOf(120)), 201)
	ch := first.Ingest.Change
	if ch.PartsChecked != 4 || ch.PartsFiltered != 0 || ch.PartsRewritten != 1 || ch.Updated != 1 {
		t.Fatalf("first change: %+v", ch)
	}
	for _, f := range first.Files {
		if f.KeyFilter == nil {
			t.Fatalf("part %s has no key filter after a change whose ranges pruned nothing", f.Key)
		}
		if _, err := store.Stat(ctx, catalog.KeyFilterObject(f.Key)); err != nil {
			t.Fatalf("filter object of %s: %v", f.Key, err)
		}
	}
	// Person 30 (first part): only that part is read; the 3 other parts of
	// 50 are kept by their filters (the one-row part of the first change
	// by its range); a new person is read nowhere.
	second := postChange(t, s, "name=contacts&mode=upsert", "text/csv",
		fmt.Sprintf("email,name,city\n%s,person 30,Boston\nnew@mail.test,newcomer,Austin\n", emailOf(30)), 201)
	ch = second.Ingest.Change
	if ch.PartsChecked != 1 || ch.PartsFiltered != 3 || ch.PartsRewritten != 1 || ch.Updated != 1 || ch.Inserted != 1 {
		t.Fatalf("second change (%d parts before): %+v", len(first.Files), ch)
	}
	wantLines(t, sqlLines(t, s, "SELECT name, city FROM contacts WHERE email IN ('"+emailOf(30)+"', '"+emailOf(120)+"', 'new@mail.test') ORDER BY name"),
		"newcomer|Austin", "person 120|Denver", "person 30|Boston")
	wantLines(t, sqlLines(t, s, "SELECT count(*), count(DISTINCT email) FROM contacts"), "201|201")

	// A filter that says "nothing here" wrongly must never hide a row: a
	// damaged one is refused by its checksum and its part is read. The
	// untouched parts (people 51–100 and 151–200) get zeroed filters; a
	// restart empties the server's cache of them.
	damaged := 0
	for _, f := range second.Files {
		if f.Rows == 50 && f.KeyFilter != nil {
			zero := bytes.Repeat([]byte{0}, int(f.KeyFilter.Bits/8)+21)
			if _, err := store.Put(ctx, catalog.KeyFilterObject(f.Key), bytes.NewReader(zero), int64(len(zero))); err != nil {
				t.Fatal(err)
			}
			damaged++
		}
	}
	if damaged != 2 {
		t.Fatalf("%d untouched parts in %+v", damaged, second.Files)
	}
	s = s.Restart(t)
	third := postChange(t, s, "name=contacts&mode=delete", "text/csv", "email\n"+emailOf(60)+"\n", 201)
	if ch := third.Ingest.Change; ch.Deleted != 1 || ch.PartsChecked != 2 {
		t.Fatalf("delete through damaged filters: %+v", ch)
	}
	wantLines(t, sqlLines(t, s, "SELECT count(*) FROM contacts WHERE email = '"+emailOf(60)+"'"), "0")
	// The rewritten part got a sound filter again; the other damaged one
	// is left as found (it is read until a change rewrites it).
	for _, f := range third.Files {
		if f.Rows == 49 && f.KeyFilter == nil {
			t.Fatalf("rewritten part %s has no filter", f.Key)
		}
	}
}
