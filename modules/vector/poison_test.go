package vector

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// walKeys lists the index's WAL segments.
func walKeys(t *testing.T, s *service, name string) []string {
	t.Helper()
	keys, err := listAll(ctxb(), s.store, indexPrefix(name)+"wal/")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// A vector whose values are finite but which the graph cannot use (a
// cosine norm that underflows or overflows float32; under dot/euclidean a
// norm whose distances overflow) is refused with ErrInvalid naming the item
// before anything reaches the WAL, and the data dir still starts.
func TestPoisonVectorsRefusedBeforeTheWAL(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "cos3", Dim: 3})
	mustCreate(t, s, IndexSpec{Name: "cos2", Dim: 2})
	mustCreate(t, s, IndexSpec{Name: "l2", Dim: 2, Metric: "euclidean"})
	mustCreate(t, s, IndexSpec{Name: "dot", Dim: 2, Metric: "dot"})
	cases := []struct {
		index string
		vec   []float32
		want  string
	}{
		{"cos3", []float32{1e-30, 1e-30, 1e-30}, "underflows"},
		{"cos3", []float32{1e-23, 0, 0}, "underflows"},
		{"cos2", []float32{3e38, 3e38}, "overflows"},
		{"cos2", []float32{2e19, 0}, "overflows"},
		{"l2", []float32{3e38, 3e38}, "too large for euclidean"},
		{"l2", []float32{5e18, 5e18}, "too large"},
		{"dot", []float32{3e38, -3e38}, "too large for dot"},
	}
	for _, c := range cases {
		err := s.Add(ctxb(), c.index, []Item{{ID: "good", Vector: []float32{1, 1, 1}[:len(c.vec)]}, {ID: "poison", Vector: c.vec}})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"poison"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: got %v, want ErrInvalid naming the item and %q", c.index, c.vec, err, c.want)
		}
		if keys := walKeys(t, s, c.index); len(keys) != 0 {
			t.Errorf("%s %v: a refused batch reached the WAL: %v", c.index, c.vec, keys)
		}
		// The same vector as a query: 400, never an internal error.
		if _, err := s.Search(ctxb(), c.index, SearchRequest{Vector: c.vec, K: 3}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s query %v: got %v, want ErrInvalid", c.index, c.vec, err)
		}
	}
	// Large but bounded vectors are accepted, and every distance is finite.
	for _, name := range []string{"l2", "dot"} {
		big := []Item{{ID: "a", Vector: []float32{4e18, 4e18}}, {ID: "b", Vector: []float32{-4e18, -4e18}}, {ID: "c", Vector: []float32{1, 2}}}
		if err := s.Add(ctxb(), name, big); err != nil {
			t.Fatalf("%s: bounded large vectors: %v", name, err)
		}
		for _, q := range [][]float32{{4e18, 4e18}, {-4e18, 4e18}, {0, 0}} {
			res, err := s.Search(ctxb(), name, SearchRequest{Vector: q, K: 3})
			if err != nil || len(res) != 3 {
				t.Fatalf("%s search %v: %v %v", name, q, res, err)
			}
			for _, r := range res {
				if math.IsNaN(float64(r.Distance)) || math.IsInf(float64(r.Distance), 0) ||
					math.IsNaN(float64(r.Score)) || math.IsInf(float64(r.Score), 0) {
					t.Fatalf("%s search %v: non-finite result %+v", name, q, r)
				}
			}
		}
	}
	// Cosine keeps accepting small and large vectors that normalise.
	if err := s.Add(ctxb(), "cos3", []Item{{ID: "small", Vector: []float32{1e-15, 2e-15, 0}}, {ID: "large", Vector: []float32{1e18, 0, 1e18}}}); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s)
	if info, _ := s2.Info(ctxb(), "cos3"); info.Length != 2 || info.Quarantined != 0 {
		t.Fatalf("after restart: %+v", info)
	}
	if w := s2.warnings(); len(w) != 0 {
		t.Fatalf("nothing should be quarantined: %v", w)
	}
}

// Requests past the configured caps are refused before any work: k, ef,
// batch items (413 through the routes), ids that are not UTF-8.
func TestRequestCaps(t *testing.T) {
	s := newTestService(t, nil, nil)
	s.cfg.MaxK, s.cfg.MaxEf, s.cfg.MaxBatchItems = 50, 200, 10
	mustCreate(t, s, IndexSpec{Name: "c", Dim: 2})
	q := []float32{1, 2}
	for _, req := range []SearchRequest{{Vector: q, K: 51}, {Vector: q, K: -1}, {Vector: q, K: 5, Ef: 201}, {Vector: q, K: 5, Ef: -1}} {
		if _, err := s.Search(ctxb(), "c", req); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "vector.max_") && !strings.Contains(err.Error(), "got -1") {
			t.Errorf("search k=%d ef=%d: %v", req.K, req.Ef, err)
		}
	}
	if _, err := s.Create(ctxb(), IndexSpec{Name: "e", Dim: 2, EfSearch: 201}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ef_search above max_ef: %v", err)
	}
	items := make([]Item, 11)
	for i := range items {
		items[i] = Item{ID: string(rune('a' + i)), Vector: q}
	}
	err := s.Add(ctxb(), "c", items)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "vector.max_batch_items") {
		t.Errorf("batch over max_batch_items: %v", err)
	}
	if err := s.Add(ctxb(), "c", []Item{{ID: "bad\xff", Vector: q}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("id not UTF-8: %v", err)
	}
	if err := s.Add(ctxb(), "c", []Item{{ID: "odd / ?#%\x01 ☃", Vector: q}}); err != nil {
		t.Errorf("odd but valid id: %v", err)
	}
	if res, err := s.Search(ctxb(), "c", SearchRequest{Vector: q, K: 50, Ef: 200}); err != nil || len(res) != 1 || res[0].ID != "odd / ?#%\x01 ☃" {
		t.Errorf("search at the caps: %v %v", res, err)
	}
}
