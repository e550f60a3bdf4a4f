package hnsw

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"lakehouse/modules/vector/internal/synth"
)

// BenchmarkQuantization is the int8-vs-float32 benchmark: 100k ×
// 384 clustered vectors (LAKEHOUSE_BENCH_N overrides the size), 1k
// queries, k = 10, cosine, M = 16, ef_construction = 64. In one run on the
// same data it measures float32, int8 without rescoring, int8 rescoring
// from an in-memory float32 copy and int8 rescoring from a vector file
// (pread per candidate; the file is in the page cache, as after a load):
// vector memory and its ratio to float32, recall@10 against brute force
// at the same ef for each, QPS per CPU second on one thread, and whether
// the target holds (≤ 0.3× the vector memory at ≤ 1 recall point below
// float32 at the same ef). The three int8 modes share one graph (built
// once, loaded three ways), so their differences are the rescoring alone.
func BenchmarkQuantization(b *testing.B) {
	n := 100000
	if v := os.Getenv("LAKEHOUSE_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("LAKEHOUSE_BENCH_N=%q: want an integer ≥ 100", v)
		}
	}
	const dim, nq, k = 384, 1000, 10
	for i := 0; i < b.N; i++ {
		runQuantBench(b, n, dim, nq, k)
	}
}

// quantEfs are the efs every mode is searched at. An int8 search walks at
// least rescoreFactor·k candidates whatever the ef (the beam column).
var quantEfs = []int{20, 40, 80, 160}

type quantMode struct {
	name   string
	g      *Graph
	pos    []uint32 // node id → input position
	rows   []sweepRow
	memory int64
}

func runQuantBench(b *testing.B, n, dim, nq, k int) {
	b.StopTimer()
	t0 := time.Now()
	base, queries := synth.Clustered(20251123, n, nq, dim)
	truth := groundTruthParallel(Cosine, base, queries, k)
	fmt.Printf("\nvector int8 quantization: n=%d dim=%d queries=%d k=%d M=16 efC=64 cosine cores=%d AVX2=%v (data + ground truth %.1fs)\n",
		n, dim, nq, k, runtime.GOMAXPROCS(0), Accelerated(), time.Since(t0).Seconds())

	f, fpos, fcpu := buildQuant(b, Config{Dim: dim, Metric: Cosine, Seed: 1}, base)
	q, qpos, qcpu := buildQuant(b, Config{Dim: dim, Metric: Cosine, Seed: 1, Quantization: Int8, Rescore: true}, base)
	fmt.Printf("build CPU: float32 %.1fs, int8 %.1fs (%.2f×)\n", fcpu.Seconds(), qcpu.Seconds(), qcpu.Seconds()/fcpu.Seconds())

	// The int8 graph loaded three ways from its snapshot.
	var snap bytes.Buffer
	if _, err := q.WriteTo(&snap); err != nil {
		b.Fatal(err)
	}
	none, err := Read(bytes.NewReader(snap.Bytes()), int64(snap.Len()))
	if err != nil {
		b.Fatal(err)
	}
	none.full, none.cfg.Rescore = nil, false // the same graph without its copy
	vf, err := CreateVectorFile(filepath.Join(b.TempDir(), "bench.f32"), dim)
	if err != nil {
		b.Fatal(err)
	}
	defer vf.Remove()
	disk, err := ReadOnDisk(bytes.NewReader(snap.Bytes()), int64(snap.Len()), vf)
	if err != nil {
		b.Fatal(err)
	}
	snap = bytes.Buffer{}
	modes := []*quantMode{
		{name: "float32", g: f, pos: fpos},
		{name: "int8", g: none, pos: qpos},
		{name: "int8+memory", g: q, pos: qpos},
		{name: "int8+disk", g: disk, pos: qpos},
	}
	for _, m := range modes {
		m.memory = m.g.VectorBytes()
		// Warm up (first touches of the slabs, the file's pages, the
		// scratch pools) so the first ef measured is not the slowest.
		w := min(len(queries), 200)
		sweepQuant(m, queries[:w], truth[:w], k, quantEfs[0])
		for _, ef := range quantEfs {
			m.rows = append(m.rows, sweepQuant(m, queries, truth, k, ef))
		}
	}

	fl := modes[0]
	fmt.Printf("%-12s %14s %7s %12s %5s %5s %9s %12s %10s %10s\n",
		"mode", "vector bytes", "ratio", "disk bytes", "ef", "beam", "recall", "vs float32", "QPS/CPU-s", "QPS ratio")
	for _, m := range modes {
		for i, r := range m.rows {
			beam := max(r.ef, k)
			if m.g.cfg.Quantization == Int8 {
				beam = max(beam, rescoreFactor*k)
			}
			fmt.Printf("%-12s %14d %6.3f× %12d %5d %5d %9.4f %+11.2fpt %10.0f %9.2f×\n",
				m.name, m.memory, float64(m.memory)/float64(fl.memory), m.g.DiskBytes(), r.ef, beam, r.recall,
				100*(r.recall-fl.rows[i].recall), r.cpuQPS, r.cpuQPS/fl.rows[i].cpuQPS)
		}
	}
	if disk.DiskErr() != nil {
		b.Fatalf("vector file: %v", disk.DiskErr())
	}
	for _, m := range modes[1:] {
		ratio := float64(m.memory) / float64(fl.memory)
		worst, at := math.Inf(-1), 0
		for i, r := range m.rows {
			if loss := 100 * (fl.rows[i].recall - r.recall); loss > worst {
				worst, at = loss, r.ef
			}
		}
		met := ratio <= 0.3 && worst <= 1
		verdict := "MET"
		if !met {
			verdict = "MISSED"
		}
		fmt.Printf("target (≤ 0.3× vector memory, ≤ 1 point recall@10 loss at the same ef) %-12s memory %.3f×, worst loss %.2f points (ef %d): %s\n",
			m.name, ratio, worst, at, verdict)
	}
	d, i40 := modes[3], 1 // ef 40: the beam int8 walks at k = 10 anyway
	b.ReportMetric(float64(d.memory)/float64(fl.memory), "int8disk_mem_ratio")
	b.ReportMetric(float64(modes[2].memory)/float64(fl.memory), "int8mem_mem_ratio")
	b.ReportMetric(100*(fl.rows[i40].recall-d.rows[i40].recall), "int8disk_loss_pts@ef40")
	b.ReportMetric(100*(fl.rows[i40].recall-modes[1].rows[i40].recall), "int8_loss_pts@ef40")
	b.ReportMetric(d.rows[i40].cpuQPS/fl.rows[i40].cpuQPS, "int8disk_qps_ratio@ef40")
}

// buildQuant builds cfg's graph over base on every core and returns it,
// the input position of each node and the build's CPU time.
func buildQuant(b *testing.B, cfg Config, base [][]float32) (*Graph, []uint32, time.Duration) {
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	g.Reserve(len(base))
	cpu0 := cpuTime()
	pos := addAllParallel(b, g, base) // node id → input position
	g.Repair()
	return g, pos, cpuTime() - cpu0
}

// sweepQuant searches every query at ef on one goroutine.
func sweepQuant(m *quantMode, queries [][]float32, truth [][]uint32, k, ef int) sweepRow {
	got := make([][]Neighbor, len(queries))
	runtime.GC()
	start, cpu0 := time.Now(), cpuTime()
	for i, q := range queries {
		got[i], _ = m.g.Search(q, k, ef, nil)
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	for _, res := range got {
		for j := range res {
			res[j].ID = m.pos[res[j].ID]
		}
	}
	return sweepRow{ef: ef, recall: recallAt(got, truth), qps: float64(len(queries)) / el.Seconds(),
		cpuQPS: float64(len(queries)) / cpu.Seconds()}
}
