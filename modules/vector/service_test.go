package vector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector/hnsw"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestService(t *testing.T, st storage.Store, emb *fakeEmbedder) *service {
	t.Helper()
	if st == nil {
		var err error
		st, err = storage.OpenLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default().Vector
	s := newService(st, nil, cfg, quiet)
	s.rescore.dir = t.TempDir()
	if emb != nil {
		s.emb = emb
	}
	if err := s.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// reopen loads a second service from the same store, as a restart does.
func reopen(t *testing.T, s *service) *service {
	t.Helper()
	s.wg.Wait()
	s2 := newService(s.store, s.emb, s.cfg, quiet)
	s2.rescore.dir = s.rescore.dir
	if err := s2.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s2
}

// fakeEmbedder maps a text to a deterministic vector of its bytes.
type fakeEmbedder struct {
	model string
	dim   int
	fail  bool
}

func (f *fakeEmbedder) Model() string  { return f.model }
func (f *fakeEmbedder) Dimension() int { return f.dim }
func (f *fakeEmbedder) EmbedBatch(_ context.Context, texts []string) ([][]float32, error) {
	if f.fail {
		return nil, errors.New("provider down")
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, f.dim)
		for j := 0; j < len(t); j++ {
			v[(int(t[j])+j)%f.dim] += float32(t[j]) / 100
		}
		v[0] += 0.01
		out[i] = v
	}
	return out, nil
}

func randVec(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func mustCreate(t *testing.T, s *service, spec IndexSpec) {
	t.Helper()
	if _, err := s.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

func ctxb() context.Context { return context.Background() }

func TestCreateValidation(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "a", Dim: 3})
	if _, err := s.Create(ctxb(), IndexSpec{Name: "a", Dim: 3}); !errors.Is(err, ErrIndexExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	for _, bad := range []IndexSpec{
		{Name: "", Dim: 3}, {Name: "../x", Dim: 3}, {Name: "a/b", Dim: 3}, {Name: "b", Dim: 0},
		{Name: "b", Dim: 3, Metric: "hamming"}, {Name: "b", Dim: 3, M: 1}, {Name: "b", Model: "m"},
	} {
		if _, err := s.Create(ctxb(), bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("create %+v: %v, want invalid", bad, err)
		}
	}
	info, err := s.Info(ctxb(), "a")
	if err != nil || info.Metric != "cosine" || info.M != 16 || info.EfSearch != 20 || info.Length != 0 {
		t.Fatalf("info %+v %v", info, err)
	}
	if _, err := s.Info(ctxb(), "nope"); !errors.Is(err, ErrIndexNotFound) {
		t.Fatalf("info of unknown: %v", err)
	}
}

func TestAddValidationIsAllOrNothing(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "v", Dim: 3})
	good := Item{ID: "ok", Vector: []float32{1, 2, 3}}
	cases := map[string]Item{
		"dimension 2":      {ID: "x", Vector: []float32{1, 2}},
		"not a finite":     {ID: "x", Vector: []float32{1, float32(math.NaN()), 3}},
		"not a finite inf": {ID: "x", Vector: []float32{1, float32(math.Inf(1)), 3}},
		"zero vector":      {ID: "x", Vector: []float32{0, 0, 0}},
		"id is required":   {Vector: []float32{1, 2, 3}},
		"flat object":      {ID: "x", Vector: []float32{1, 2, 3}, Metadata: map[string]any{"a": []any{1}}},
	}
	for want, bad := range cases {
		err := s.Add(ctxb(), "v", []Item{good, bad})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), strings.TrimSuffix(want, " inf")) {
			t.Fatalf("%s: got %v", want, err)
		}
	}
	if err := s.Add(ctxb(), "v", []Item{{ID: "x", Vector: []float32{1, 2}}}); err == nil ||
		!strings.Contains(err.Error(), "dimension 2") || !strings.Contains(err.Error(), "dimension 3") {
		t.Fatalf("dim mismatch must name both dims: %v", err)
	}
	if info, _ := s.Info(ctxb(), "v"); info.Length != 0 {
		t.Fatalf("a rejected batch was half applied: length %d", info.Length)
	}
	if _, err := s.Search(ctxb(), "v", SearchRequest{Vector: []float32{1, 2}, K: 1}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "dimension 2") || !strings.Contains(err.Error(), "dimension 3") {
		t.Fatalf("search dim mismatch: %v", err)
	}
	if err := s.Add(ctxb(), "nope", []Item{good}); !errors.Is(err, ErrIndexNotFound) {
		t.Fatalf("add to unknown index: %v", err)
	}
	// Euclidean and dot accept a zero vector.
	mustCreate(t, s, IndexSpec{Name: "e", Dim: 3, Metric: "euclidean"})
	if err := s.Add(ctxb(), "e", []Item{{ID: "z", Vector: []float32{0, 0, 0}}}); err != nil {
		t.Fatal(err)
	}
}

func TestUpsertAndMetadataRules(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "u", Dim: 2, Metric: "euclidean"})
	add := func(items ...Item) {
		t.Helper()
		if err := s.Add(ctxb(), "u", items); err != nil {
			t.Fatal(err)
		}
	}
	top := func(q []float32) Result {
		t.Helper()
		res, err := s.Search(ctxb(), "u", SearchRequest{Vector: q, K: 1})
		if err != nil || len(res) != 1 {
			t.Fatalf("search: %v %v", res, err)
		}
		return res[0]
	}
	add(Item{ID: "a", Vector: []float32{0, 0}, Metadata: map[string]any{"color": "red"}},
		Item{ID: "b", Vector: []float32{10, 10}})
	// Re-add with a new vector and no metadata: vector replaced, metadata kept.
	add(Item{ID: "a", Vector: []float32{20, 20}})
	if r := top([]float32{20, 20}); r.ID != "a" || r.Metadata["color"] != "red" || r.Distance != 0 {
		t.Fatalf("after re-add: %+v", r)
	}
	if r := top([]float32{0, 0}); r.ID != "b" {
		t.Fatalf("old vector of a still found: %+v", r)
	}
	// Same vector, new metadata.
	add(Item{ID: "a", Vector: []float32{20, 20}, Metadata: map[string]any{"color": "blue"}})
	if r := top([]float32{20, 20}); r.Metadata["color"] != "blue" {
		t.Fatalf("metadata not replaced: %+v", r)
	}
	// {} clears.
	add(Item{ID: "a", Vector: []float32{20, 20}, Metadata: map[string]any{}})
	if r := top([]float32{20, 20}); len(r.Metadata) != 0 {
		t.Fatalf("metadata not cleared: %+v", r)
	}
	// The same id twice in one batch: the last vector wins.
	add(Item{ID: "c", Vector: []float32{5, 5}, Metadata: map[string]any{"n": 1.0}}, Item{ID: "c", Vector: []float32{6, 6}})
	if r := top([]float32{6, 6}); r.ID != "c" || r.Metadata["n"] != 1.0 {
		t.Fatalf("repeated id in a batch: %+v", r)
	}
	if info, _ := s.Info(ctxb(), "u"); info.Length != 3 {
		t.Fatalf("length %d, want 3", info.Length)
	}
}

func TestDeleteOnlyItemThenAddAgain(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "d", Dim: 3})
	v := []float32{1, 2, 3}
	for round := 0; round < 3; round++ {
		if err := s.Add(ctxb(), "d", []Item{{ID: "only", Vector: v}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctxb(), "d", []string{"only"}); err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(ctxb(), "d", SearchRequest{Vector: v, K: 5})
		if err != nil || len(res) != 0 {
			t.Fatalf("after deleting the only item: %v %v", res, err)
		}
	}
	if err := s.Delete(ctxb(), "d", []string{"only"}); !errors.Is(err, ErrItemNotFound) {
		t.Fatalf("delete of a deleted id: %v", err)
	}
	if err := s.Add(ctxb(), "d", []Item{{ID: "only", Vector: v}}); err != nil {
		t.Fatal(err)
	}
	res, _ := s.Search(ctxb(), "d", SearchRequest{Vector: v, K: 5})
	if len(res) != 1 || res[0].ID != "only" {
		t.Fatalf("re-added item missing: %v", res)
	}
	s2 := reopen(t, s)
	res, _ = s2.Search(ctxb(), "d", SearchRequest{Vector: v, K: 5})
	if len(res) != 1 || res[0].ID != "only" {
		t.Fatalf("after restart: %v", res)
	}
}

// bruteForce is the reference: every live item, filtered, sorted by the
// metric's distance.
func bruteForce(m hnsw.Metric, items map[string]Item, q []float32, k int, f filter) []string {
	type hit struct {
		id string
		d  float32
	}
	qq := slices.Clone(q)
	if m == hnsw.Cosine {
		hnsw.Normalize(qq)
	}
	var hits []hit
	for _, it := range items {
		if f != nil && !f.match(it.Metadata) {
			continue
		}
		v := slices.Clone(it.Vector)
		if m == hnsw.Cosine {
			hnsw.Normalize(v)
		}
		hits = append(hits, hit{it.ID, hnsw.Distance(m, qq, v)})
	}
	sort.Slice(hits, func(i, j int) bool {
		return hits[i].d < hits[j].d || (hits[i].d == hits[j].d && hits[i].id < hits[j].id)
	})
	var out []string
	for i := 0; i < len(hits) && i < k; i++ {
		out = append(out, hits[i].id)
	}
	return out
}

func TestFilterEqualsBruteForce(t *testing.T) {
	for _, n := range []int{1500, 5000} { // exact path, then graph path with adaptive ef
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newTestService(t, nil, nil)
			mustCreate(t, s, IndexSpec{Name: "f", Dim: 16})
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			items := map[string]Item{}
			var batch []Item
			cities := []string{"chicago", "austin", "denver", "boston"}
			for i := 0; i < n; i++ {
				it := Item{ID: fmt.Sprintf("id-%05d", i), Vector: randVec(rng, 16), Metadata: map[string]any{
					"city": cities[i%4], "rate": float64(i % 100), "active": i%3 == 0, "rare": i%500 == 0,
				}}
				items[it.ID] = it
				batch = append(batch, it)
			}
			if err := s.Add(ctxb(), "f", batch); err != nil {
				t.Fatal(err)
			}
			// Delete a few, which must never come back.
			var del []string
			for i := 0; i < n; i += 61 {
				del = append(del, fmt.Sprintf("id-%05d", i))
				delete(items, del[len(del)-1])
			}
			if err := s.Delete(ctxb(), "f", del); err != nil {
				t.Fatal(err)
			}
			filters := []map[string]any{
				nil,
				{"city": "chicago"},
				{"city": map[string]any{"$in": []any{"austin", "denver"}}},
				{"rate": map[string]any{"$gte": 10.0, "$lte": 20.0}},
				{"city": "boston", "active": true, "rate": map[string]any{"$gte": 50.0}},
				{"rare": true},
				{"city": "nowhere"},
			}
			ix, _ := s.get("f")
			plans := map[string]int{}
			var hit, total int
			for fi, raw := range filters {
				f, err := compileFilter(raw)
				if err != nil {
					t.Fatal(err)
				}
				for qi := 0; qi < 4; qi++ {
					q := randVec(rng, 16)
					want := bruteForce(hnsw.Cosine, items, q, 10, f)
					// Through the service once (validation, JSON-level
					// shape), then with the plan visible.
					if _, err := s.Search(ctxb(), "f", SearchRequest{Vector: q, K: 10, Ef: 64, Filter: raw}); err != nil {
						t.Fatal(err)
					}
					res, plan, err := ix.searchPlan(q, 10, 64, f)
					if err != nil {
						t.Fatal(err)
					}
					plans[plan]++
					got := make([]string, len(res))
					for i, r := range res {
						got[i] = r.ID
						if slices.Contains(del, r.ID) {
							t.Fatalf("deleted id %s returned", r.ID)
						}
						if f != nil && !f.match(items[r.ID].Metadata) {
							t.Fatalf("filter %v: %s does not match", raw, r.ID)
						}
					}
					if len(got) != len(want) {
						t.Fatalf("filter %d %v: %d results, brute force has %d", fi, raw, len(got), len(want))
					}
					if plan == planExact {
						if !slices.Equal(got, want) {
							t.Fatalf("filter %d %v query %d (exact plan):\n got %v\nwant %v", fi, raw, qi, got, want)
						}
						continue
					}
					// The graph plan is approximate like any HNSW search:
					// high recall at ef=64, and with a beam as wide as the
					// index it is exhaustive, so it must equal brute force.
					for _, id := range got {
						if slices.Contains(want, id) {
							hit++
						}
					}
					total += len(want)
					wide, _, err := ix.searchPlan(q, 10, len(items), f)
					if err != nil {
						t.Fatal(err)
					}
					for i := range got {
						got[i] = wide[i].ID
					}
					if !slices.Equal(got, want) {
						t.Fatalf("filter %d %v query %d (graph plan, ef = n):\n got %v\nwant %v", fi, raw, qi, got, want)
					}
				}
			}
			if total > 0 {
				if r := float64(hit) / float64(total); r < 0.95 {
					t.Fatalf("graph-plan filtered recall@10 = %.3f, want ≥ 0.95", r)
				}
			}
			if n >= exactBelow && (plans[planGraph] == 0 || plans[planExact] == 0) {
				t.Fatalf("plans used: %v; want both graph and exact", plans)
			}
			t.Logf("n=%d plans %v, graph-plan recall %d/%d", n, plans, hit, total)
		})
	}
}

func TestFilterErrors(t *testing.T) {
	for _, bad := range []map[string]any{
		{"a": map[string]any{"$regex": "x"}},
		{"a": map[string]any{"$in": "x"}},
		{"a": map[string]any{"$gte": "x"}},
		{"a": []any{1}},
		{"a": map[string]any{}},
	} {
		if _, err := compileFilter(bad); err == nil {
			t.Fatalf("filter %v accepted", bad)
		}
	}
}

func TestPersistenceRoundTripAndCompaction(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "p", Dim: 8, Metric: "dot", M: 8, EfSearch: 30})
	rng := rand.New(rand.NewPCG(2, 2))
	want := map[string]Item{}
	addBatch := func(from, to int) {
		var b []Item
		for i := from; i < to; i++ {
			it := Item{ID: fmt.Sprint("p", i), Vector: randVec(rng, 8), Metadata: map[string]any{"i": float64(i)}}
			b = append(b, it)
			want[it.ID] = it
		}
		if err := s.Add(ctxb(), "p", b); err != nil {
			t.Fatal(err)
		}
	}
	addBatch(0, 300)
	ix, _ := s.get("p")
	if err := s.compact(ctxb(), ix); err != nil { // snapshot at seq 1
		t.Fatal(err)
	}
	addBatch(300, 400)
	if err := s.Delete(ctxb(), "p", []string{"p5", "p350"}); err != nil {
		t.Fatal(err)
	}
	delete(want, "p5")
	delete(want, "p350")
	addBatch(400, 420)

	check := func(s *service) {
		t.Helper()
		info, err := s.Info(ctxb(), "p")
		if err != nil || info.Length != len(want) || info.Metric != "dot" || info.M != 8 || info.EfSearch != 30 {
			t.Fatalf("info after reload: %+v %v", info, err)
		}
		for _, id := range []string{"p0", "p299", "p300", "p419"} {
			res, err := s.Search(ctxb(), "p", SearchRequest{Vector: want[id].Vector, K: 400, Ef: 400,
				Filter: map[string]any{"i": want[id].Metadata["i"]}})
			if err != nil || len(res) != 1 || res[0].ID != id {
				t.Fatalf("item %s after reload: %v %v", id, res, err)
			}
		}
		res, _ := s.Search(ctxb(), "p", SearchRequest{Vector: want["p0"].Vector, K: 1000, Ef: 1000})
		if len(res) != len(want) {
			t.Fatalf("reload returned %d items, want %d", len(res), len(want))
		}
		for _, r := range res {
			if r.ID == "p5" || r.ID == "p350" {
				t.Fatalf("deleted %s back after reload", r.ID)
			}
		}
	}
	s2 := reopen(t, s)
	check(s2)
	ix2, _ := s2.get("p")
	if ix2.snapSeq != 1 || len(ix2.walSeqs) != 3 {
		t.Fatalf("reload: snapshot seq %d, %d WAL segments; want 1 and 3", ix2.snapSeq, len(ix2.walSeqs))
	}
	// Compact with tombstones, reload again.
	if err := s2.compact(ctxb(), ix2); err != nil {
		t.Fatal(err)
	}
	keys, _ := listAll(ctxb(), s.store, indexPrefix("p"))
	if len(keys) != 2 {
		t.Fatalf("after compaction the store holds %v; want spec + snapshot", keys)
	}
	check(reopen(t, s2))

	// Drop removes every object.
	if err := s2.Drop(ctxb(), "p"); err != nil {
		t.Fatal(err)
	}
	keys, _ = listAll(ctxb(), s.store, vectorsPrefix)
	if len(keys) != 0 {
		t.Fatalf("drop left %v", keys)
	}
	if _, err := reopen(t, s2).Info(ctxb(), "p"); !errors.Is(err, ErrIndexNotFound) {
		t.Fatalf("dropped index back after restart: %v", err)
	}
}

func TestSizeTriggeredCompaction(t *testing.T) {
	s := newTestService(t, nil, nil)
	s.cfg.CompactWALBytes = 4 << 10
	mustCreate(t, s, IndexSpec{Name: "c", Dim: 32})
	rng := rand.New(rand.NewPCG(4, 4))
	for b := 0; b < 10; b++ {
		var items []Item
		for i := 0; i < 20; i++ {
			items = append(items, Item{ID: fmt.Sprint(b, "-", i), Vector: randVec(rng, 32)})
		}
		if err := s.Add(ctxb(), "c", items); err != nil {
			t.Fatal(err)
		}
	}
	s.wg.Wait()
	keys, _ := listAll(ctxb(), s.store, indexPrefix("c"))
	if !slices.Contains(keys, snapKey("c")) || len(keys) > 4 {
		t.Fatalf("size-triggered compaction did not run: %v", keys)
	}
	if info, _ := reopen(t, s).Info(ctxb(), "c"); info.Length != 200 {
		t.Fatalf("length after compaction + reload: %d", info.Length)
	}
}

func TestTornWALTail(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "t", Dim: 4})
	for i := 0; i < 3; i++ {
		if err := s.Add(ctxb(), "t", []Item{{ID: fmt.Sprint(i), Vector: []float32{1, float32(i), 0, 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth batch torn mid-write: its segment holds half its bytes.
	ix, _ := s.get("t")
	data, err := encodeSegment(segment{op: opAdd, seq: 4, items: []Item{{ID: "torn", Vector: []float32{1, 1, 1, 1}}}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Put(ctxb(), segKey("t", 4), strings.NewReader(string(data[:len(data)/2])), -1); err != nil {
		t.Fatal(err)
	}
	_ = ix
	s2 := reopen(t, s)
	info, _ := s2.Info(ctxb(), "t")
	if info.Length != 3 {
		t.Fatalf("after torn tail: length %d, want 3", info.Length)
	}
	// The index keeps working; the torn segment is quarantined, not
	// deleted, so the next batch takes sequence 5.
	if err := s2.Add(ctxb(), "t", []Item{{ID: "next", Vector: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatal(err)
	}
	if info, _ := reopen(t, s2).Info(ctxb(), "t"); info.Length != 4 {
		t.Fatalf("after torn tail and a new batch: length %d, want 4", info.Length)
	}
	if !slices.Contains(walKeys(t, s2, "t"), segKey("t", 5)) {
		t.Fatalf("next batch: %v", walKeys(t, s2, "t"))
	}
	// Damage in the middle (acknowledged data) is quarantined too: the
	// index starts with everything else and reports it.
	if _, err := s.store.Put(ctxb(), segKey("t", 2), strings.NewReader("LHVWgarbage-garbage-garbage"), -1); err != nil {
		t.Fatal(err)
	}
	s3 := reopen(t, s)
	if info, _ := s3.Info(ctxb(), "t"); info.Length != 3 || info.Quarantined != 2 {
		t.Fatalf("corrupt middle segment: %+v", info)
	}
}

func TestConcurrentAddSearch(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "cc", Dim: 16})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for b := 0; b < 10; b++ {
				var items []Item
				for i := 0; i < 100; i++ {
					items = append(items, Item{ID: fmt.Sprintf("%d-%d-%d", w, b, i%80), Vector: randVec(rng, 16),
						Metadata: map[string]any{"w": float64(w)}})
				}
				if err := s.Add(ctxb(), "cc", items); err != nil {
					t.Error(err)
					return
				}
				if b%3 == 0 {
					_ = s.Delete(ctxb(), "cc", []string{fmt.Sprintf("%d-%d-0", w, b)})
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for i := 0; i < 200; i++ {
				req := SearchRequest{Vector: randVec(rng, 16), K: 5}
				if i%2 == 0 {
					req.Filter = map[string]any{"w": 1.0}
				}
				res, err := s.Search(ctxb(), "cc", req)
				if err != nil {
					t.Error(err)
					return
				}
				for j := 1; j < len(res); j++ {
					if res[j].Distance < res[j-1].Distance {
						t.Errorf("results not ascending: %v", res)
						return
					}
				}
				_, _ = s.Info(ctxb(), "cc")
			}
		}(r)
	}
	wg.Wait()
	info, _ := s.Info(ctxb(), "cc")
	if want := 2*10*80 - 2*4; info.Length != want {
		t.Fatalf("length %d, want %d", info.Length, want)
	}
	if info2, _ := reopen(t, s).Info(ctxb(), "cc"); info2.Length != info.Length {
		t.Fatalf("after reload %d, want %d", info2.Length, info.Length)
	}
}

func TestTextItemsUseTheIndexModel(t *testing.T) {
	emb := &fakeEmbedder{model: "fake-8", dim: 8}
	s := newTestService(t, nil, emb)
	// Created with a model: dimension comes from the embedder.
	info, err := s.Create(ctxb(), IndexSpec{Name: "m", Model: "fake-8"})
	if err != nil || info.Dim != 8 || info.Model != "fake-8" {
		t.Fatalf("create with model: %+v %v", info, err)
	}
	if _, err := s.Create(ctxb(), IndexSpec{Name: "m2", Model: "other", Dim: 8}); err != nil {
		t.Fatalf("a caller that embeds by itself may record any model with a dimension: %v", err)
	}
	if _, err := s.Create(ctxb(), IndexSpec{Name: "m2b", Model: "other"}); err == nil ||
		!strings.Contains(err.Error(), "other") || !strings.Contains(err.Error(), "fake-8") {
		t.Fatalf("unknown model must name both: %v", err)
	}
	if _, err := s.Create(ctxb(), IndexSpec{Name: "m3", Model: "fake-8", Dim: 4}); err == nil ||
		!strings.Contains(err.Error(), "4") || !strings.Contains(err.Error(), "8") {
		t.Fatalf("model dim mismatch must name both: %v", err)
	}
	if err := s.Add(ctxb(), "m", []Item{{ID: "fork", Text: "forklift driver OSHA-30"}, {ID: "cnc", Text: "CNC operator"}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctxb(), "m", SearchRequest{Text: "forklift driver OSHA-30", K: 1})
	if err != nil || len(res) != 1 || res[0].ID != "fork" || res[0].Distance > 1e-5 {
		t.Fatalf("text search: %v %v", res, err)
	}
	// An index created without a model records it on the first text add.
	mustCreate(t, s, IndexSpec{Name: "late", Dim: 8})
	if err := s.Add(ctxb(), "late", []Item{{ID: "x", Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctxb(), "late"); info.Model != "fake-8" {
		t.Fatalf("model not recorded: %+v", info)
	}
	// A different embedder later: 400 naming both models; the record survives restart.
	s2 := reopen(t, s)
	s2.emb = &fakeEmbedder{model: "other-8", dim: 8}
	if err := s2.Add(ctxb(), "late", []Item{{ID: "y", Text: "hi"}}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "fake-8") || !strings.Contains(err.Error(), "other-8") {
		t.Fatalf("model mismatch: %v", err)
	}
	if _, err := s2.Search(ctxb(), "late", SearchRequest{Text: "hi"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("search model mismatch: %v", err)
	}
	// Wrong dimension embedder on a model-less index.
	mustCreate(t, s2, IndexSpec{Name: "d4", Dim: 4})
	if err := s2.Add(ctxb(), "d4", []Item{{ID: "y", Text: "hi"}}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "dimension 8") || !strings.Contains(err.Error(), "dimension 4") {
		t.Fatalf("embedder dim mismatch: %v", err)
	}
	// No embedder at all.
	s2.emb = nil
	if err := s2.Add(ctxb(), "d4", []Item{{ID: "y", Text: "hi"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("text without embedder: %v", err)
	}
	// Provider failure → ErrEmbed.
	s2.emb = &fakeEmbedder{model: "fake-8", dim: 8, fail: true}
	if err := s2.Add(ctxb(), "m", []Item{{ID: "z", Text: "x"}}); !errors.Is(err, ErrEmbed) {
		t.Fatalf("provider down: %v", err)
	}
}
