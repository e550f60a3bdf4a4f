package ingest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"lakehouse/internal/demo"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchCSV returns a cached generated staffing CSV of LAKEHOUSE_BENCH_INGEST_MB
// megabytes (default 1024 = the BENCHMARKS.md recipe) and its row count.
func benchCSV(b *testing.B) (string, int64) {
	return benchCSVOf(b, envMB(b, "LAKEHOUSE_BENCH_INGEST_MB", 1024))
}

// envMB reads a size in MB from the environment variable name (def when
// unset).
func envMB(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q", name, v)
	}
	return n
}

// benchCSVOf is benchCSV of mb megabytes.
func benchCSVOf(b *testing.B, mb int64) (string, int64) {
	dir := filepath.Join(os.TempDir(), "lakehouse-bench")
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, fmt.Sprintf("staffing-%dMB.csv", mb))
	rowsPath := path + ".rows"
	if data, err := os.ReadFile(rowsPath); err == nil {
		if rows, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil {
			return path, rows
		}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := demo.GenerateStaffingCSV(f, mb<<20, 42)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	_ = os.WriteFile(rowsPath, []byte(strconv.FormatInt(rows, 10)), 0o644)
	return path, rows
}

// resetPeakRSS frees what the Go heap holds and resets the kernel's
// high-water mark (VmHWM) so the next phase's peak is its own.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is VmHWM in MiB (0 where /proc is missing).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkIngestVsDuckDB converts the same CSV with lakehouse ingest
// (the whole path: parse, infer, Parquet parts, storage, catalog) and
// with DuckDB's COPY ... TO parquet through the same driver, and reports
// the throughput ratio (>= 1 means lakehouse is at least as fast).
func BenchmarkIngestVsDuckDB(b *testing.B) {
	path, rows := benchCSV(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(st.Size())
	// Warm the page cache for both contenders.
	if data, err := os.Open(path); err == nil {
		buf := make([]byte, 4<<20)
		for {
			if _, err := data.Read(buf); err != nil {
				break
			}
		}
		data.Close()
	}
	for i := 0; i < b.N; i++ {
		r := newBenchRig(b)
		resetPeakRSS()
		t0, c0 := time.Now(), cpuSeconds()
		res, err := r.IngestFile(context.Background(), path, Request{Dataset: "candidates", Mode: ModeReplace})
		ours, oursCPU := time.Since(t0).Seconds(), cpuSeconds()-c0
		oursRSS := peakRSS()
		if err != nil {
			b.Fatal(err)
		}
		if res.Manifest.RowCount != rows {
			b.Fatalf("ingested %d rows, generated %d", res.Manifest.RowCount, rows)
		}
		var outBytes int64
		for _, f := range res.Manifest.Files {
			outBytes += f.Bytes
		}

		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec("SET threads = 2"); err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(b.TempDir(), "duck.parquet")
		resetPeakRSS()
		t1, c1 := time.Now(), cpuSeconds()
		if _, err := db.Exec(fmt.Sprintf("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet, COMPRESSION snappy)", path, out)); err != nil {
			b.Fatal(err)
		}
		duck, duckCPU := time.Since(t1).Seconds(), cpuSeconds()-c1
		duckRSS := peakRSS()
		db.Close()
		dst, _ := os.Stat(out)

		ratio := duck / ours
		b.ReportMetric(size/1e6/ours, "MB/s")
		b.ReportMetric(float64(rows)/ours, "rows/s")
		b.ReportMetric(oursRSS, "peakRSS_MiB")
		b.ReportMetric(size/1e6/duck, "duckdb_MB/s")
		b.ReportMetric(duckRSS, "duckdb_peakRSS_MiB")
		b.ReportMetric(ratio, "x_duckdb")
		fmt.Printf("\ningest %.0f MB, %d rows, GOMAXPROCS=%d, %d parts\n", size/1e6, rows, runtime.GOMAXPROCS(0), len(res.Manifest.Files))
		fmt.Printf("%-22s %8s %8s %10s %12s %12s %10s\n", "", "wall s", "cpu s", "MB/s", "rows/s", "peak RSS MiB", "out MB")
		fmt.Printf("%-22s %8.2f %8.2f %10.1f %12.0f %12.0f %10.1f\n", "lakehouse ingest", ours, oursCPU, size/1e6/ours, float64(rows)/ours, oursRSS, float64(outBytes)/1e6)
		fmt.Printf("%-22s %8.2f %8.2f %10.1f %12.0f %12.0f %10.1f\n", "duckdb COPY (2 thr)", duck, duckCPU, size/1e6/duck, float64(rows)/duck, duckRSS, float64(dst.Size())/1e6)
		fmt.Printf("lakehouse phases: split %.0f ms, convert %.0f ms, publish+register %.0f ms\n", res.Stats.SplitMS, res.Stats.ConvertMS, res.Stats.PublishMS)
		fmt.Printf("throughput ratio lakehouse/duckdb: %.2fx (wall), %.2fx (cpu)\n", ratio, duckCPU/oursCPU)
		b.ReportMetric(duckCPU/oursCPU, "x_duckdb_cpu")
	}
}

func newBenchRig(b *testing.B) *Ingester {
	dir := b.TempDir()
	r := newRigTB(b, dir, Options{})
	return r
}
