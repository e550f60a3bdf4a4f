package vector

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// TestPersistenceOnS3 runs the snapshot + WAL cycle against a real MinIO
// server: the same code path as local disk, through storage.Store.
func TestPersistenceOnS3(t *testing.T) {
	cfg := storagetest.StartMinIO(t) // skips without a MinIO binary (outside CI)
	st, err := storage.OpenS3(ctxb(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, st, nil)
	mustCreate(t, s, IndexSpec{Name: "s3", Dim: 8})
	rng := rand.New(rand.NewPCG(8, 8))
	add := func(from, to int) {
		var items []Item
		for i := from; i < to; i++ {
			items = append(items, Item{ID: fmt.Sprint("s", i), Vector: randVec(rng, 8), Metadata: map[string]any{"i": float64(i)}})
		}
		if err := s.Add(ctxb(), "s3", items); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 100)
	ix, _ := s.get("s3")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	add(100, 150)
	if err := s.Delete(ctxb(), "s3", []string{"s3", "s120"}); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s)
	info, err := s2.Info(ctxb(), "s3")
	if err != nil || info.Length != 148 {
		t.Fatalf("after reload from S3: %+v %v", info, err)
	}
	res, _ := s2.Search(ctxb(), "s3", SearchRequest{Vector: randVec(rng, 8), K: 200, Filter: map[string]any{"i": 120.0}})
	if len(res) != 0 {
		t.Fatalf("deleted item back: %v", res)
	}
	if err := s2.Drop(ctxb(), "s3"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := listAll(ctxb(), st, vectorsPrefix); len(keys) != 0 {
		t.Fatalf("drop left %v on S3", keys)
	}
}

// An int8 index rescoring from disk loses nothing with the node's disk on
// S3: a new node (an empty local directory) rebuilds the file from the
// snapshot and WAL in the bucket and answers exactly as before.
func TestInt8DiskIndexOnS3NewNode(t *testing.T) {
	cfg := storagetest.StartMinIO(t)
	st, err := storage.OpenS3(ctxb(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, st, nil)
	mustCreate(t, s, IndexSpec{Name: "d8", Dim: 16, Quantization: "int8", Rescore: "disk"})
	rng := rand.New(rand.NewPCG(6, 6))
	add := func(from, to int) {
		var items []Item
		for i := from; i < to; i++ {
			items = append(items, Item{ID: fmt.Sprint(i), Vector: randVec(rng, 16)})
		}
		if err := s.Add(ctxb(), "d8", items); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 200)
	ix, _ := s.get("d8")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	add(200, 260)
	q := randVec(rng, 16)
	before, err := s.Search(ctxb(), "d8", SearchRequest{Vector: q, K: 20, Ef: 300})
	if err != nil {
		t.Fatal(err)
	}
	s.wg.Wait()
	s2 := newService(st, nil, s.cfg, quiet)
	s2.rescore.dir = t.TempDir() // another node: none of s's files
	if err := s2.load(ctxb()); err != nil {
		t.Fatal(err)
	}
	after, err := s2.Search(ctxb(), "d8", SearchRequest{Vector: q, K: 20, Ef: 300})
	if err != nil || len(after) != len(before) {
		t.Fatalf("after reload on a new node: %d results, %v", len(after), err)
	}
	for i := range before {
		if after[i].ID != before[i].ID || after[i].Distance != before[i].Distance {
			t.Fatalf("result %d: %+v, before %+v", i, after[i], before[i])
		}
	}
}
