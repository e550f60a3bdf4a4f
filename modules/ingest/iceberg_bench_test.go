package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// icebergRig is an ingester whose catalog publishes Iceberg snapshots or not.
func icebergRig(b *testing.B, on bool) *Ingester {
	dir := b.TempDir()
	st, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		b.Fatal(err)
	}
	var opts []catalog.Option
	if on {
		opts = append(opts, catalog.WithIceberg("default"))
	}
	cat, err := catalog.Open(context.Background(), filepath.Join(dir, "meta.duckdb"), st, nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	return NewIngester(cat, st, Options{TempDir: filepath.Join(dir, "tmp")}, nil)
}

// BenchmarkIngestIceberg ingests the same CSV (LAKEHOUSE_BENCH_INGEST_MB,
// default 1 GiB) with Iceberg off and on, in the same run, twice each in
// alternating order, and prints the best wall time of each and their
// ratio: the Iceberg commit registers the existing parts (footers only),
// so the target is < 5% more wall time.
func BenchmarkIngestIceberg(b *testing.B) {
	path, rows := benchCSV(b)
	for i := 0; i < b.N; i++ {
		best := map[bool]time.Duration{}
		publish := map[bool]float64{}
		for _, on := range []bool{false, true, true, false} {
			r := icebergRig(b, on)
			t0 := time.Now()
			res, err := r.IngestFile(context.Background(), path, Request{Dataset: "candidates", Mode: ModeReplace})
			wall := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if res.Manifest.RowCount != rows {
				b.Fatalf("ingested %d rows, generated %d", res.Manifest.RowCount, rows)
			}
			if best[on] == 0 || wall < best[on] {
				best[on], publish[on] = wall, res.Stats.PublishMS
			}
		}
		ratio := best[true].Seconds() / best[false].Seconds()
		b.ReportMetric(ratio, "x_iceberg_wall")
		fmt.Printf("\ningest %s (%d rows), best of 2 each\n", filepath.Base(path), rows)
		fmt.Printf("%-14s %10s %22s\n", "", "wall s", "publish+register ms")
		fmt.Printf("%-14s %10.2f %22.1f\n", "iceberg off", best[false].Seconds(), publish[false])
		fmt.Printf("%-14s %10.2f %22.1f\n", "iceberg on", best[true].Seconds(), publish[true])
		fmt.Printf("iceberg on/off wall ratio: %.3f (target < 1.05); commit adds %.1f ms\n", ratio, publish[true]-publish[false])
	}
}
