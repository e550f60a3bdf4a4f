package vector

import (
	"fmt"
	"slices"
	"testing"

	"lakehouse/modules/vector/hnsw"
	"lakehouse/modules/vector/internal/synth"
)

// recallOf is recall@k of name's searches against brute force over base.
func recallOf(t *testing.T, s *service, name string, base, queries [][]float32, k int) float64 {
	t.Helper()
	hit := 0
	for _, q := range queries {
		type dd struct {
			id string
			d  float32
		}
		all := make([]dd, len(base))
		qn := slices.Clone(q)
		hnsw.Normalize(qn)
		for i, b := range base {
			bn := slices.Clone(b)
			hnsw.Normalize(bn)
			all[i] = dd{fmt.Sprint(i), hnsw.Distance(hnsw.Cosine, qn, bn)}
		}
		slices.SortFunc(all, func(a, b dd) int {
			if a.d < b.d {
				return -1
			} else if a.d > b.d {
				return 1
			}
			return 0
		})
		truth := map[string]bool{}
		for _, x := range all[:k] {
			truth[x.id] = true
		}
		res, err := s.Search(ctxb(), name, SearchRequest{Vector: q, K: k})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if truth[r.ID] {
				hit++
			}
		}
	}
	return float64(hit) / float64(len(queries)*k)
}

// An int8 index answers like the float32 one (within a recall point with
// rescoring), at ≤ 0.3× the vector memory without the rescoring copy, and
// keeps its quantization through a snapshot and a WAL replay.
func TestInt8IndexRecallMemoryAndReload(t *testing.T) {
	const dim, n, k = 96, 3000, 10
	base, queries := synth.Clustered(31, n, 60, dim)
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "f", Dim: dim})
	mustCreate(t, s, IndexSpec{Name: "q", Dim: dim, Quantization: "int8"})
	mustCreate(t, s, IndexSpec{Name: "qr", Dim: dim, Quantization: "int8", Rescore: "memory"})
	for _, name := range []string{"f", "q", "qr"} {
		for from := 0; from < n; from += 1000 {
			var items []Item
			for i := from; i < from+1000; i++ {
				items = append(items, Item{ID: fmt.Sprint(i), Vector: base[i]})
			}
			if err := s.Add(ctxb(), name, items); err != nil {
				t.Fatal(err)
			}
		}
	}
	info := map[string]IndexInfo{}
	for _, name := range []string{"f", "q", "qr"} {
		var err error
		if info[name], err = s.Info(ctxb(), name); err != nil {
			t.Fatal(err)
		}
	}
	if info["f"].Quantization != "float32" || info["q"].Quantization != "int8" || info["q"].Rescore != "none" || info["qr"].Rescore != "memory" {
		t.Fatalf("info: %+v", info)
	}
	ratio := float64(info["q"].VectorMemoryBytes) / float64(info["f"].VectorMemoryBytes)
	if ratio > 0.3 {
		t.Fatalf("int8 vector memory is %.3f× float32's", ratio)
	}
	rf, rq, rqr := recallOf(t, s, "f", base, queries, k), recallOf(t, s, "q", base, queries, k), recallOf(t, s, "qr", base, queries, k)
	t.Logf("recall@10 float32 %.3f, int8 %.3f, int8+rescore %.3f; int8 vector memory %.3f×", rf, rq, rqr, ratio)
	if rqr < rf-0.01 || rq < rf-0.03 {
		t.Fatalf("recall@10 float32 %.3f, int8 %.3f, int8+rescore %.3f", rf, rq, rqr)
	}

	topOne := func(s *service, name string) {
		t.Helper()
		for _, i := range []int{0, 1234, n - 1} {
			res, err := s.Search(ctxb(), name, SearchRequest{Vector: base[i], K: 1})
			if err != nil || len(res) != 1 || res[0].ID != fmt.Sprint(i) {
				t.Fatalf("%s: top-1 of item %d is %v %v", name, i, res, err)
			}
		}
	}
	topOne(s, "q")
	topOne(s, "qr")
	// Snapshot q, then log more to its WAL: reload goes through both.
	ix, _ := s.get("q")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctxb(), "q", []Item{{ID: "late", Vector: queries[0]}}); err != nil {
		t.Fatal(err)
	}
	// Upserting the same vector with new metadata re-uses its node.
	if err := s.Add(ctxb(), "q", []Item{{ID: "0", Vector: base[0], Metadata: map[string]any{"x": 1.0}}}); err != nil {
		t.Fatal(err)
	}
	if ix.g.Len() != n+1 {
		t.Fatalf("same-vector upsert added a node: %d nodes", ix.g.Len())
	}
	s2 := reopen(t, s)
	for _, name := range []string{"q", "qr"} {
		got, err := s2.Info(ctxb(), name)
		if err != nil || got.Quantization != "int8" || got.Rescore != info[name].Rescore || got.VectorMemoryBytes <= 0 {
			t.Fatalf("%s after reload: %+v %v (before %+v)", name, got, err, info[name])
		}
		topOne(s2, name)
	}
	res, err := s2.Search(ctxb(), "q", SearchRequest{Vector: queries[0], K: 1})
	if err != nil || len(res) != 1 || res[0].ID != "late" {
		t.Fatalf("WAL item after reload: %v %v", res, err)
	}
}
