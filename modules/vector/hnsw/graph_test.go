package hnsw

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"lakehouse/internal/racetest"
)

func build(t testing.TB, cfg Config, base [][]float32, workers int) *Graph {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.Reserve(len(base))
	var wg sync.WaitGroup
	next := make(chan int, 256)
	ids := make([]uint32, len(base))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id, err := g.Add(base[i])
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = id
			}
		}()
	}
	for i := range base {
		next <- i
	}
	close(next)
	wg.Wait()
	// Tests map node ids back to input positions.
	for i, id := range ids {
		if workers == 1 && int(id) != i {
			t.Fatalf("sequential add gave id %d for item %d", id, i)
		}
	}
	if workers > 1 {
		perm := make([][]float32, len(base))
		for i, id := range ids {
			perm[id] = base[i]
		}
		copy(base, perm)
	}
	return g
}

func TestAccelerated(t *testing.T) {
	t.Logf("vek AVX2/FMA kernels: %v (GOARCH %s)", Accelerated(), runtime.GOARCH)
	if runtime.GOARCH == "amd64" && !Accelerated() {
		t.Log("warning: this CPU lacks AVX2/FMA; vek falls back to Go loops")
	}
}

// TestRecallDefaults: recall@10 ≥ 0.95 on 10k × 128 at default parameters.
func TestRecallDefaults(t *testing.T) {
	// A quality number over 10k inserts: 15× slower under -race, whose
	// concurrent-insert coverage is TestConcurrentAddSearch and
	// TestEveryNodeReachable.
	racetest.CPUBound(t)
	base, queries := clustered(7, 10000, 200, 128)
	g := build(t, Config{Dim: 128, Metric: Cosine, Seed: 1}, base, 2)
	truth := groundTruth(Cosine, base, queries, 10)
	got := make([][]Neighbor, len(queries))
	for i, q := range queries {
		res, err := g.Search(q, 10, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = res
	}
	r := recallAt(got, truth)
	t.Logf("recall@10 at defaults (M=%d efC=%d ef=%d): %.4f", DefaultM, DefaultEfConstruction, DefaultEfSearch, r)
	if r < 0.95 {
		t.Fatalf("recall@10 = %.4f, want ≥ 0.95", r)
	}
}

func TestMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []Metric{Cosine, Dot, L2} {
		base := make([][]float32, 500)
		for i := range base {
			base[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
		}
		g := build(t, Config{Dim: 4, Metric: m, EfConstruction: 100, Seed: 2}, base, 1)
		q := []float32{1, 0.5, -0.2, 0.1}
		want, _ := g.Exact(q, 5, nil)
		got, err := g.Search(q, 5, 200, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Fatalf("%v: search %v, exact %v", m, got, want)
			}
			if i > 0 && got[i].Distance < got[i-1].Distance {
				t.Fatalf("%v: not ascending: %v", m, got)
			}
		}
	}
}

func TestDeleteLastAndReAdd(t *testing.T) {
	g, _ := New(Config{Dim: 3, Metric: Cosine})
	id, err := g.Add([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	g.Delete(id)
	g.Delete(id)   // twice: no-op
	g.Delete(9999) // unknown: no-op
	res, err := g.Search([]float32{1, 2, 3}, 5, 0, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("after deleting the only node: %v %v", res, err)
	}
	id2, err := g.Add([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	res, _ = g.Search([]float32{1, 2, 3}, 5, 0, nil)
	if len(res) != 1 || res[0].ID != id2 {
		t.Fatalf("re-added node not found: %v", res)
	}
	if _, err := g.Add([]float32{0, 0, 0}); err == nil {
		t.Fatal("zero vector accepted under cosine")
	}
	if _, err := g.Add([]float32{1, 2}); err == nil {
		t.Fatal("wrong dimension accepted")
	}
}

func TestDeletedNeverReturned(t *testing.T) {
	base, queries := clustered(11, 2000, 50, 32)
	g := build(t, Config{Dim: 32, Metric: Cosine, Seed: 5}, base, 1)
	for i := 0; i < len(base); i += 3 {
		g.Delete(uint32(i))
	}
	for _, q := range queries {
		res, _ := g.Search(q, 10, 50, nil)
		if len(res) != 10 {
			t.Fatalf("got %d results", len(res))
		}
		for _, r := range res {
			if r.ID%3 == 0 {
				t.Fatalf("deleted node %d returned", r.ID)
			}
		}
	}
}

func TestFilterInsideTraversal(t *testing.T) {
	base, queries := clustered(12, 3000, 30, 32)
	g := build(t, Config{Dim: 32, Metric: Cosine, Seed: 5}, base, 1)
	accept := func(id uint32) bool { return id%10 == 3 } // 10% selective
	for _, q := range queries {
		want, _ := g.Exact(q, 10, accept)
		got, _ := g.Search(q, 10, 100, accept)
		if len(got) != 10 {
			t.Fatalf("filtered search returned %d of 10", len(got))
		}
		for _, r := range got {
			if !accept(r.ID) {
				t.Fatalf("filtered-out node %d returned", r.ID)
			}
		}
		if recallAt([][]Neighbor{got}, [][]uint32{ids(want)}) < 0.9 {
			t.Fatalf("filtered recall too low: got %v want %v", got, want)
		}
	}
}

func ids(ns []Neighbor) []uint32 {
	out := make([]uint32, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func TestConcurrentAddSearch(t *testing.T) {
	base, queries := clustered(13, 3000, 20, 16)
	g, _ := New(Config{Dim: 16, Metric: L2, Seed: 9})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(base); i += 2 {
				if _, err := g.Add(base[i]); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				q := queries[i%len(queries)]
				if _, err := g.Search(q, 5, 0, nil); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					_, _ = g.Exact(q, 5, nil)
					g.Delete(uint32(i))
				}
			}
		}()
	}
	wg.Wait()
	if g.Len() != len(base) {
		t.Fatalf("len %d, want %d", g.Len(), len(base))
	}
}

func TestCodecRoundTrip(t *testing.T) {
	base, queries := clustered(14, 1500, 20, 24)
	g := build(t, Config{Dim: 24, Metric: Dot, Seed: 9}, base, 2)
	g.Delete(7)
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	g2, err := Read(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if g2.Len() != g.Len() || !g2.Deleted(7) || g2.Config() != g.Config() {
		t.Fatalf("loaded graph differs: len %d/%d", g2.Len(), g.Len())
	}
	for _, q := range queries {
		a, _ := g.Search(q, 10, 40, nil)
		b, _ := g2.Search(q, 10, 40, nil)
		if len(a) != len(b) {
			t.Fatal("results differ after reload")
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("results differ after reload: %v vs %v", a, b)
			}
		}
	}
	// The loaded graph keeps growing.
	if _, err := g2.Add(base[0]); err != nil {
		t.Fatal(err)
	}
	// Truncated input is an error, never a panic.
	for _, n := range []int{0, 3, 10, 60, len(raw) / 2, len(raw) - 1} {
		if _, err := Read(bytes.NewReader(raw[:n]), int64(n)); err == nil {
			t.Fatalf("truncated snapshot (%d bytes) accepted", n)
		}
	}
}
