package vector

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/internal/racetest"
	"lakehouse/modules/embed/builtin"
	"lakehouse/modules/storage"
)

// hybridScores is one mode's mean P@10 and nDCG@10 over the queries.
type hybridScores struct {
	mode      string
	p10, ndcg float64
	qps       float64 // queries per CPU second (query embedding included for vector and hybrid)
}

// hybridQuality indexes the first n profiles of the labelled set (text
// embedded by the builtin encoder, kept for the keyword side) and scores
// every query in each mode.
func hybridQuality(t testing.TB, n int, extra ...SearchRequest) ([]hybridScores, int) {
	profiles, queries, err := loadHybridSet()
	if err != nil {
		t.Fatal(err)
	}
	profiles = profiles[:min(n, len(profiles))]
	enc := builtin.New()
	if err := enc.Available(); err != nil {
		t.Skipf("builtin model not present: %v", err)
	}
	dir, err := os.MkdirTemp("", "vector-hybrid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := storage.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := newService(st, enc, config.Default().Vector, quiet)
	ctx := context.Background()
	if _, err := s.Create(ctx, IndexSpec{Name: "hq", Model: builtin.ModelName}); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(profiles); off += 500 {
		var items []Item
		for _, p := range profiles[off:min(off+500, len(profiles))] {
			items = append(items, Item{ID: p.ID, Text: p.Text, Metadata: map[string]any{"role": p.Role, "city": p.City}})
		}
		if err := s.Add(ctx, "hq", items); err != nil {
			t.Fatal(err)
		}
	}
	in := map[string]bool{}
	for _, p := range profiles {
		in[p.ID] = true
	}
	var out []hybridScores
	reqs := []SearchRequest{{Mode: ModeVector}, {Mode: ModeKeyword}, {Mode: ModeHybrid}}
	for _, req := range append(reqs, extra...) {
		mode := req.Mode
		sc := hybridScores{mode: mode}
		nq := 0
		c0 := cpuNow()
		for _, q := range queries {
			rel := map[string]bool{}
			for _, id := range q.Relevant {
				if in[id] {
					rel[id] = true
				}
			}
			if len(rel) == 0 {
				continue
			}
			req.Text, req.K = q.Text, 10
			res, err := s.Search(ctx, "hq", req)
			if err != nil {
				t.Fatal(err)
			}
			hits, dcg, idcg := 0, 0.0, 0.0
			for i, r := range res {
				if rel[r.ID] {
					hits++
					dcg += 1 / math.Log2(float64(i+2))
				}
			}
			for i := 0; i < min(10, len(rel)); i++ {
				idcg += 1 / math.Log2(float64(i+2))
			}
			sc.p10 += float64(hits) / 10
			sc.ndcg += dcg / idcg
			nq++
		}
		sc.qps = float64(nq) / (cpuNow() - c0).Seconds()
		sc.p10 /= float64(nq)
		sc.ndcg /= float64(nq)
		out = append(out, sc)
	}
	return out, len(profiles)
}

// TestHybridBeatsSingleModes: on (part of) the labelled set, hybrid
// search scores a higher P@10 and nDCG@10 than vector-only and
// keyword-only search.
func TestHybridBeatsSingleModes(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 1000 profiles with the builtin encoder")
	}
	// A quality number from one sequential writer: twice as slow under
	// -race (70 s), which finds nothing here the smaller text tests miss.
	racetest.CPUBound(t)
	scores, n := hybridQuality(t, 1000)
	for _, s := range scores {
		t.Logf("%d profiles, %-8s P@10 %.3f nDCG@10 %.3f", n, s.mode, s.p10, s.ndcg)
	}
	h := scores[2]
	for _, s := range scores[:2] {
		if h.p10 <= s.p10 || h.ndcg <= s.ndcg {
			t.Errorf("hybrid (P@10 %.3f, nDCG@10 %.3f) does not beat %s (%.3f, %.3f)", h.p10, h.ndcg, s.mode, s.p10, s.ndcg)
		}
	}
}

// BenchmarkHybridQuality prints P@10 and nDCG@10 of the three modes side
// by side on the whole labelled set (testdata/hybrid: 5000 profiles,
// queries "role + certification code", relevant = holds both), with the
// builtin encoder on the vector side.
func BenchmarkHybridQuality(b *testing.B) {
	n := 1 << 30
	if os.Getenv("LAKEHOUSE_BENCH_N") != "" {
		n = 1500
	}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		scores, np := hybridQuality(b, n)
		fmt.Printf("\nvector hybrid quality: %d profiles, builtin encoder (%s), k=10 (%.1fs)\n", np, builtin.ModelName, time.Since(start).Seconds())
		fmt.Printf("%-8s %8s %9s %12s\n", "mode", "P@10", "nDCG@10", "QPS/CPU-s")
		for _, s := range scores {
			fmt.Printf("%-8s %8.3f %9.3f %12.0f\n", s.mode, s.p10, s.ndcg, s.qps)
		}
		h := scores[2]
		fmt.Printf("hybrid vs vector: P@10 %.2fx, nDCG@10 %.2fx; vs keyword: P@10 %.2fx, nDCG@10 %.2fx\n",
			h.p10/scores[0].p10, h.ndcg/scores[0].ndcg, h.p10/scores[1].p10, h.ndcg/scores[1].ndcg)
		b.ReportMetric(h.p10, "hybrid_p@10")
		b.ReportMetric(scores[0].p10, "vector_p@10")
		b.ReportMetric(scores[1].p10, "keyword_p@10")
	}
}
