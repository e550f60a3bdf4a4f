package vector

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector/internal/synth"
)

// BenchmarkIndexLoad measures what a restart pays for a 100k × 768 index
// (LAKEHOUSE_BENCH_N overrides the size): the snapshot is the graph's
// slabs plus ids and metadata, so loading is reading, not rebuilding. It
// also reports the add throughput through the service (WAL included).
func BenchmarkIndexLoad(b *testing.B) {
	n := 100000
	if v := os.Getenv("LAKEHOUSE_BENCH_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	const dim, batch = 768, 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "vector-load-bench-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st, err := storage.OpenLocal(dir)
		if err != nil {
			b.Fatal(err)
		}
		cfg := config.Default().Vector
		cfg.CompactWALBytes = 0 // compaction timed separately below
		s := newService(st, nil, cfg, quiet)
		if _, err := s.Create(ctxb(), IndexSpec{Name: "load", Dim: dim}); err != nil {
			b.Fatal(err)
		}
		data, _ := synth.Clustered(5, n, 0, dim)
		start := time.Now()
		for off := 0; off < n; off += batch {
			items := make([]Item, 0, batch)
			for j := off; j < min(n, off+batch); j++ {
				items = append(items, Item{ID: fmt.Sprintf("doc-%07d", j), Vector: data[j],
					Metadata: map[string]any{"city": "chicago", "n": float64(j)}})
			}
			if err := s.Add(ctxb(), "load", items); err != nil {
				b.Fatal(err)
			}
		}
		addT := time.Since(start)
		ix, _ := s.get("load")
		start = time.Now()
		if err := s.compact(ctxb(), ix); err != nil {
			b.Fatal(err)
		}
		snapT := time.Since(start)
		start = time.Now()
		s2 := newService(s.store, nil, s.cfg, quiet)
		if err := s2.load(ctxb()); err != nil {
			b.Fatal(err)
		}
		loadT := time.Since(start)
		if info, _ := s2.Info(ctxb(), "load"); info.Length != n {
			b.Fatalf("loaded %d items, want %d", info.Length, n)
		}
		fmt.Printf("\nvector index load: n=%d dim=%d: add through the service (WAL, 2 cores) %.1fs (%.0f items/s); "+
			"snapshot write %.2fs; load from snapshot %.2fs\n", n, dim, addT.Seconds(), float64(n)/addT.Seconds(), snapT.Seconds(), loadT.Seconds())
		b.ReportMetric(loadT.Seconds(), "load_s")
		b.ReportMetric(float64(n)/addT.Seconds(), "adds/s")
	}
}
