package hnsw

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"lakehouse/modules/vector/internal/synth"
)

// The hnswlib peer: hnswlib's own C++ headers, as the npm package
// hnswlib-node@3.0.0 ships them, compiled natively by the benchmark's
// setup (g++ -O3 -mavx2 -mfma) into ~/.cache/lakehouse/npm, once.
const (
	peerPackage = "hnswlib-node@3.0.0"
	peerTarball = "hnswlib-node-3.0.0.tgz"
)

// peerBinary returns the compiled peer, building it when missing or when
// testdata/hnswpeer.cc changed. It skips the benchmark when npm or g++
// are not there.
func peerBinary(b *testing.B) string {
	home, err := os.UserHomeDir()
	if err != nil {
		b.Skipf("no home directory for the peer cache: %v", err)
	}
	cache := filepath.Join(home, ".cache", "lakehouse", "npm")
	src, err := os.ReadFile("testdata/hnswpeer.cc")
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(src)
	bin := filepath.Join(cache, "hnswpeer-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	for _, tool := range []string{"npm", "g++", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("hnswlib peer needs %s: %v", tool, err)
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		b.Fatal(err)
	}
	tgz := filepath.Join(cache, peerTarball)
	if _, err := os.Stat(tgz); err != nil {
		out, err := exec.Command("npm", "pack", peerPackage, "--pack-destination", cache).CombinedOutput()
		if err != nil {
			b.Skipf("npm pack %s: %v\n%s", peerPackage, err, out)
		}
	}
	hdrs := filepath.Join(cache, "hnswlib-node-3.0.0")
	if err := os.MkdirAll(hdrs, 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("tar", "xzf", tgz, "-C", hdrs).CombinedOutput(); err != nil {
		b.Fatalf("unpack %s: %v\n%s", tgz, err, out)
	}
	ccFile := filepath.Join(cache, "hnswpeer.cc")
	if err := os.WriteFile(ccFile, src, 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("g++", "-O3", "-mavx2", "-mfma", "-std=c++17", "-pthread",
		"-I", filepath.Join(hdrs, "package", "src"), "-o", bin+".tmp", ccFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("compile the hnswlib peer: %v\n%s", err, out)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		b.Fatal(err)
	}
	return bin
}

// curvePoint is one ef of a sweep.
type curvePoint struct {
	ef     int
	recall float64
	cpuQPS float64
}

// qpsAt interpolates a sweep's queries per CPU second at recall target
// (linearly between the two efs around it); ok is false when no ef
// reaches it.
func qpsAt(curve []curvePoint, target float64) (float64, bool) {
	for i, p := range curve {
		if p.recall < target {
			continue
		}
		if i == 0 {
			return p.cpuQPS, true
		}
		a := curve[i-1]
		if a.recall >= p.recall {
			return p.cpuQPS, true
		}
		t := (target - a.recall) / (p.recall - a.recall)
		return a.cpuQPS + t*(p.cpuQPS-a.cpuQPS), true
	}
	return 0, false
}

// BenchmarkHNSWvsHnswlib is the same-run peer benchmark: the
// BENCHMARKS.md data (100k × 768 clustered, LAKEHOUSE_BENCH_N overrides),
// 1k queries, k = 10, cosine; M = 16, ef_construction = 64 for both,
// built on every core, searched on one thread over the same ef sweep. It
// prints build CPU and QPS per CPU second at recall 0.95 and 0.99 and
// their ratios (ours / hnswlib), for our float32 graph (the same storage
// as hnswlib's) and for an int8 graph re-ranking with a float32 copy in
// memory (recall is always scored against exact float32 neighbours).
func BenchmarkHNSWvsHnswlib(b *testing.B) {
	peer := peerBinary(b)
	n := 100000
	if v := os.Getenv("LAKEHOUSE_BENCH_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	const dim, nq, k, m, efc = 768, 1000, 10, 16, 64
	efs := []int{10, 15, 20, 30, 40, 60, 80, 120, 160, 240}
	for i := 0; i < b.N; i++ {
		base, queries := synth.Clustered(20251123, n, nq, dim)
		truth := groundTruthParallel(Cosine, base, queries, k)
		fmt.Printf("\nvector HNSW vs hnswlib (native, %s headers, g++ -O3 -mavx2 -mfma): n=%d dim=%d queries=%d k=%d M=%d efC=%d cores=%d\n",
			peerPackage, n, dim, nq, k, m, efc, runtime.GOMAXPROCS(0))

		// Theirs first (its process ends before ours allocates).
		dir := b.TempDir()
		data, out := filepath.Join(dir, "data.bin"), filepath.Join(dir, "out.bin")
		writePeerData(b, data, base, queries)
		args := []string{data, out, strconv.Itoa(m), strconv.Itoa(efc), strconv.Itoa(runtime.GOMAXPROCS(0)), strconv.Itoa(k)}
		for _, ef := range efs {
			args = append(args, strconv.Itoa(ef))
		}
		stdout, err := exec.Command(peer, args...).Output()
		if err != nil {
			b.Fatalf("hnswlib peer: %v", err)
		}
		var theirBuild, theirBuildCPU float64
		var theirs []curvePoint
		labels := readLabels(b, out, len(efs), nq, k)
		for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "build":
				theirBuild, _ = strconv.ParseFloat(f[1], 64)
				theirBuildCPU, _ = strconv.ParseFloat(f[2], 64)
			case len(f) == 4 && f[0] == "ef":
				ef, _ := strconv.Atoi(f[1])
				cpu, _ := strconv.ParseFloat(f[3], 64)
				got := labels[len(theirs)]
				theirs = append(theirs, curvePoint{ef, recallAt(got, truth), float64(nq) / cpu})
			}
		}
		_ = os.Remove(data)

		// Ours, float32 (hnswlib's storage), then int8 with a float32 copy
		// in memory for rescoring: each built on every core and repaired
		// as the index does after a batch.
		f32 := buildAndSweep(b, Config{Dim: dim, Metric: Cosine, M: m, EfConstruction: efc, Seed: 1}, base, queries, truth, k, efs)
		i8 := buildAndSweep(b, Config{Dim: dim, Metric: Cosine, M: m, EfConstruction: efc, Seed: 1, Quantization: Int8, Rescore: true}, base, queries, truth, k, efs)

		fmt.Printf("%-32s %18s %6s %10s %12s\n", "index (single-thread search)", "build wall / CPU", "ef", "recall@10", "QPS/CPU-s")
		rows := []struct {
			name string
			run  ourRun
		}{{"lakehouse hnsw float32", f32}, {"lakehouse hnsw int8+rescore", i8}}
		for j := range efs {
			build := func(w, c float64) string {
				if j == 0 {
					return fmt.Sprintf("%.1fs / %.1fs", w, c)
				}
				return ""
			}
			for _, r := range rows {
				fmt.Printf("%-32s %18s %6d %10.4f %12.0f\n", r.name, build(r.run.wall, r.run.cpu), r.run.curve[j].ef, r.run.curve[j].recall, r.run.curve[j].cpuQPS)
			}
			fmt.Printf("%-32s %18s %6d %10.4f %12.0f\n", "hnswlib (native)", build(theirBuild, theirBuildCPU), theirs[j].ef, theirs[j].recall, theirs[j].cpuQPS)
		}
		fmt.Printf("ours: %d node(s) re-linked by the repair pass, %d unreachable after it (float32); %d, %d (int8)\n",
			f32.relinked, f32.unreachable, i8.relinked, i8.unreachable)
		for _, r := range []struct {
			name, metric string
			run          ourRun
		}{{"float32", "", f32}, {"int8+rescore", "_int8", i8}} {
			line := fmt.Sprintf("ratios vs native hnswlib, %s: build CPU %.2fx less", r.name, theirBuildCPU/r.run.cpu)
			for _, target := range []float64{0.95, 0.99} {
				o, ok1 := qpsAt(r.run.curve, target)
				t, ok2 := qpsAt(theirs, target)
				if ok1 && ok2 {
					line += fmt.Sprintf("; QPS at recall %.2f: %.0f vs %.0f = %.2fx", target, o, t, o/t)
					b.ReportMetric(o/t, fmt.Sprintf("qps_ratio%s@%.2f", r.metric, target))
				} else {
					line += fmt.Sprintf("; recall %.2f not reached (ours %v, hnswlib %v)", target, ok1, ok2)
				}
			}
			fmt.Println(line)
			b.ReportMetric(theirBuildCPU/r.run.cpu, "build_cpu_ratio"+r.metric)
		}
	}
}

// ourRun is one of our graphs through the benchmark: build wall and CPU
// seconds, its repair counts, and its ef sweep.
type ourRun struct {
	wall, cpu             float64
	relinked, unreachable int
	curve                 []curvePoint
}

// buildAndSweep builds a graph of cfg over base on every core (then
// repairs it, as the index does after a batch) and searches queries
// single-threaded at every ef, scoring recall against truth.
func buildAndSweep(b *testing.B, cfg Config, base, queries [][]float32, truth [][]uint32, k int, efs []int) ourRun {
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	g.Reserve(len(base))
	start, c0 := time.Now(), cpuTime()
	pos := addAllParallel(b, g, base)
	run := ourRun{relinked: g.Repair()}
	run.wall, run.cpu = time.Since(start).Seconds(), (cpuTime() - c0).Seconds()
	run.unreachable = g.Unreachable()
	for _, ef := range efs {
		got := make([][]Neighbor, len(queries))
		c0 := cpuTime()
		for qi, q := range queries {
			res, _ := g.Search(q, k, ef, nil)
			for j := range res {
				res[j].ID = pos[res[j].ID]
			}
			got[qi] = res
		}
		run.curve = append(run.curve, curvePoint{ef, recallAt(got, truth), float64(len(queries)) / (cpuTime() - c0).Seconds()})
	}
	return run
}

func writePeerData(b *testing.B, path string, base, queries [][]float32) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_ = binary.Write(w, binary.LittleEndian, [3]uint32{uint32(len(base)), uint32(len(base[0])), uint32(len(queries))})
	for _, set := range [][][]float32{base, queries} {
		for _, v := range set {
			_, _ = w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// readLabels reads the peer's results: per ef, nq × k labels.
func readLabels(b *testing.B, path string, nef, nq, k int) [][][]Neighbor {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) != nef*nq*k*4 {
		b.Fatalf("peer results: %d bytes, %v", len(raw), err)
	}
	out := make([][][]Neighbor, nef)
	for e := range out {
		out[e] = make([][]Neighbor, nq)
		for q := range out[e] {
			for j := 0; j < k; j++ {
				l := binary.LittleEndian.Uint32(raw[4*((e*nq+q)*k+j):])
				if l != 0xffffffff {
					out[e][q] = append(out[e][q], Neighbor{ID: l})
				}
			}
		}
	}
	return out
}
