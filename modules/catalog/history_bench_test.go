package catalog_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// historySpan is how many appends each point of
// BenchmarkCommitCostByHistory times by default, on the long history and
// on its peer alike; it is also how many appends one peer dataset takes.
const historySpan = 50

// The peer of each window is a fresh dataset of a second catalog, built
// to version 9 first, so its 50 appends land at versions 10..59: the
// brief's "50 appends at version ~10", timed in the same window as the
// long history's (a longer window takes a new peer dataset every 50).
const peerBuilt = 9

// BenchmarkCommitCostByHistory proves (or disproves) that versions last:
// a dataset appended to one row at a time, the way a user's appends
// arrive, costs no more per commit at a long history than at a short
// one, and its metadata stays bounded. The catalog is the one a server
// runs: Iceberg on, the default retention (keep_versions 100) and the
// background maintenance with the default compaction (16 small parts,
// 128 MiB target). Every append is a new real one-row Parquet part
// (Register reads each footer for the Iceberg statistics).
//
// It times Register (the commit, not the part's upload) for 50 appends
// to the long dataset at catalog versions ~10, ~1,000 and ~10,000; the
// history between is built by the same append loop, untimed. The peer
// is the same append at a short history (versions 10-59 of a fresh
// dataset in a second catalog of the same configuration), timed in the
// same window, alternating with the long dataset's appends, so a
// machine shared with other work slows both alike. It prints, at each
// point, the median and p90 of both and the ratio of the medians
// (goal at v10000: <= 1.5; at v10 it is the control, ~1), the long
// dataset's own v10000/v10 ratio, its metadata bytes
// (datasets/<name>/metadata/ plus _catalog/; goal <= 50 MB), the parts
// in its latest version and the versions kept.
//
// LAKEHOUSE_BENCH_HISTORY sets the longest history (default 10000; the
// run takes 6-20 minutes on 2 shared cores, almost all of it building
// the history; 300 gives a quick check in under a minute). LAKEHOUSE_BENCH_HISTORY_WINDOW sets the appends timed
// at each point (a multiple of 50, default 50; more gives a profile
// more samples). LAKEHOUSE_BENCH_HISTORY_PROFILE=<dir> writes a CPU
// profile of each timed window there (window-v<N>.pprof) and the lock
// waits (window-v<N>.mutex.pprof, cumulative: compare with -base);
// not together with -cpuprofile. Samples carry the labels
// store=long|peer and work=append|build|maintenance:
// go tool pprof -tagfocus 'store=long' -tagfocus 'work=append' ...
func BenchmarkCommitCostByHistory(b *testing.B) {
	longest := 10000
	if s := os.Getenv("LAKEHOUSE_BENCH_HISTORY"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			b.Fatalf("LAKEHOUSE_BENCH_HISTORY=%q: want a number >= 100", s)
		}
		longest = n
	}
	points := []int{10}
	if longest > 1000 {
		points = append(points, 1000)
	}
	points = append(points, longest)
	window := historySpan
	if s := os.Getenv("LAKEHOUSE_BENCH_HISTORY_WINDOW"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < historySpan || n%historySpan != 0 {
			b.Fatalf("LAKEHOUSE_BENCH_HISTORY_WINDOW=%q: want a multiple of %d", s, historySpan)
		}
		window = n
	}
	profDir := os.Getenv("LAKEHOUSE_BENCH_HISTORY_PROFILE")
	for i := 0; i < b.N; i++ {
		runHistoryBench(b, points, window, profDir)
	}
}

// historyRig is one catalog as a server runs it, on local storage.
type historyRig struct {
	b     *testing.B
	label string
	st    *catalog.Store
	objs  storage.Store
	dir   string
	part  []byte
	sum   string
	n     int // parts written
}

func newHistoryRig(b *testing.B, label string, part []byte, sum string) *historyRig {
	ctx := context.Background()
	dir := b.TempDir()
	objs, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := catalog.Open(ctx, filepath.Join(dir, "meta.duckdb"), objs, quiet,
		catalog.WithIceberg("default"),
		catalog.WithRetention(catalog.RetentionPolicy{
			Default:  catalog.Retention{KeepVersions: 100},
			Internal: catalog.Retention{KeepVersions: 10},
		}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// The defaults of [catalog.maintenance] but a short interval and
	// grace, so the sweeps keep pace with a run of minutes. The grace
	// stays above a commit's duration: a manifest a commit in flight has
	// written but not yet published must not look like an orphan. The
	// maintenance goroutines inherit the profiler labels.
	pprof.Do(ctx, pprof.Labels("store", label, "work", "maintenance"), func(context.Context) {
		st.StartMaintenance(catalog.MaintenanceOptions{Interval: time.Second, Grace: 2 * time.Second,
			CompactMinParts: 16, TargetPartBytes: 128 << 20, TempDir: filepath.Join(dir, "tmp")})
	})
	return &historyRig{b: b, label: label, st: st, objs: objs, dir: dir, part: part, sum: sum}
}

var historySchema = []catalog.Column{{Name: "id", Type: "BIGINT", Nullable: true}, {Name: "label", Type: "VARCHAR", Nullable: true}}

// append writes a new one-row part of name and appends it, as ingest
// does (FilesVerified: the writer just stored it); it returns how long
// Register took and the version it made. work labels its profile
// samples (build: untimed).
func (r *historyRig) append(name, work string) (time.Duration, catalog.Manifest) {
	ctx := context.Background()
	r.n++
	key := fmt.Sprintf("datasets/%s/%d.parquet", name, r.n)
	if _, err := r.objs.Put(ctx, key, bytes.NewReader(r.part), int64(len(r.part))); err != nil {
		r.b.Fatal(err)
	}
	req := catalog.RegisterRequest{Name: name, Schema: historySchema, Append: true, FilesVerified: true, Source: "bench",
		Files: []catalog.File{{Key: key, Bytes: int64(len(r.part)), Rows: 1, SHA256: r.sum}}}
	for try := 0; ; try++ {
		var (
			m    catalog.Manifest
			err  error
			took time.Duration
		)
		pprof.Do(ctx, pprof.Labels("store", r.label, "work", work), func(ctx context.Context) {
			t0 := time.Now()
			m, _, err = r.st.Register(ctx, req)
			took = time.Since(t0)
		})
		if errors.Is(err, catalog.ErrRetry) && try < 3 {
			continue // a part swept while in flight: what a writer does
		}
		if err != nil {
			r.b.Fatalf("%s: append %s: %v", r.label, key, err)
		}
		return took, m
	}
}

type latency struct{ p50, p90 time.Duration }

func latencyOf(ds []time.Duration) latency {
	s := slices.Sorted(slices.Values(ds))
	return latency{nearestRank(s, 0.5), nearestRank(s, 0.9)}
}

func runHistoryBench(b *testing.B, points []int, window int, profDir string) {
	ctx := context.Background()
	part, sum := onePartParquet(b, b.TempDir())
	long := newHistoryRig(b, "long", part, sum)
	peer := newHistoryRig(b, "peer", part, sum)
	const name = "history"

	type result struct {
		point, from, to int
		long, peer      latency
		build           time.Duration // untimed appends before the window
		builtAppends    int
	}
	var res []result
	began := time.Now()
	latest, appends := 0, 0
	for _, p := range points {
		t0, before := time.Now(), appends
		for latest < p {
			_, m := long.append(name, "build")
			latest = m.Version
			appends++
		}
		r := result{point: p, from: latest, build: time.Since(t0), builtAppends: appends - before}
		short := ""
		nextPeer := func(k int) {
			if short != "" { // gone from the peer catalog's maintenance passes
				if err := peer.st.Delete(ctx, short); err != nil {
					b.Fatal(err)
				}
			}
			short = fmt.Sprintf("short_%d_%d", p, k)
			for range peerBuilt {
				peer.append(short, "build")
			}
		}
		nextPeer(0)
		stop := startWindowProfile(b, profDir, p)
		var lat, plat []time.Duration
		for i := range window {
			if i > 0 && i%historySpan == 0 {
				nextPeer(i / historySpan)
			}
			one := func() {
				d, m := long.append(name, "append")
				lat = append(lat, d)
				latest = m.Version
				appends++
			}
			other := func() {
				d, m := peer.append(short, "append")
				if m.Version <= peerBuilt {
					b.Fatalf("peer append made %s v%d, not a version above %d", m.Name, m.Version, peerBuilt)
				}
				plat = append(plat, d)
			}
			if i%2 == 0 {
				one()
				other()
			} else {
				other()
				one()
			}
		}
		stop()
		if err := peer.st.Delete(ctx, short); err != nil {
			b.Fatal(err)
		}
		r.to, r.long, r.peer = latest, latencyOf(lat), latencyOf(plat)
		res = append(res, r)
		b.Logf("v%d: p50 %.1f ms (peer %.1f), p90 %.1f ms (peer %.1f); history built in %s (%d appends)",
			p, ms(r.long.p50), ms(r.peer.p50), ms(r.long.p90), ms(r.peer.p90), r.build.Round(time.Millisecond), r.builtAppends)
	}
	total := time.Since(began)

	// The figures right after the last append, then after the next full
	// maintenance pass has had its chance (grace, interval) to sweep.
	root := filepath.Join(long.dir, "objects")
	now := figuresOf(b, ctx, long.st, root, name)
	time.Sleep(4 * time.Second)
	settled := figuresOf(b, ctx, long.st, root, name)

	first, last := res[0], res[len(res)-1]
	ratio := float64(last.long.p50) / float64(last.peer.p50)
	ratio90 := float64(last.long.p90) / float64(last.peer.p90)
	self := float64(last.long.p50) / float64(first.long.p50)

	fmt.Printf("\ncommit cost by history: one-row appends (Register only), %d per point, Iceberg on, keep_versions 100, compaction at 16 small parts\n", window)
	fmt.Printf("peer: the same append at versions %d-%d of a fresh dataset (a second catalog), alternating with the long one's in the same window\n", peerBuilt+1, peerBuilt+historySpan)
	fmt.Printf("%-8s %-13s %9s %9s %9s %9s %10s %9s\n", "point", "versions", "p50 ms", "p90 ms", "peer p50", "peer p90", "p50 ratio", "build s")
	for _, r := range res {
		fmt.Printf("%-8s %-13s %9.1f %9.1f %9.1f %9.1f %10.2f %9.1f\n", fmt.Sprintf("v%d", r.point), fmt.Sprintf("%d-%d", r.from, r.to),
			ms(r.long.p50), ms(r.long.p90), ms(r.peer.p50), ms(r.peer.p90), float64(r.long.p50)/float64(r.peer.p50), r.build.Seconds())
	}
	fmt.Printf("v%d vs its peer: p50 ratio %.2f (goal <= 1.5), p90 ratio %.2f; the long dataset's own p50 v%d/v%d: %.2f (windows minutes apart)\n",
		last.point, ratio, ratio90, last.point, first.point, self)
	fmt.Printf("long history: %d appends, %d versions in %s (%.1f ms an append incl. the part's upload and the peers)\n",
		appends, latest, total.Round(time.Second), ms(total)/float64(appends))
	for _, f := range []struct {
		when string
		fig  historyFigures
	}{{"after the last append", now}, {"after a maintenance pass", settled}} {
		fmt.Printf("%-25s metadata %.2f MB (goal <= 50 MB; iceberg %.2f MB in %d files, _catalog %.2f MB in %d files); meta.duckdb %.1f MB\n",
			f.when, mb(f.fig.iceBytes+f.fig.catBytes), mb(f.fig.iceBytes), f.fig.iceFiles, mb(f.fig.catBytes), f.fig.catFiles, mb(f.fig.dbBytes))
		fmt.Printf("%-25s latest v%d: %d parts; %d versions kept; %d snapshots; %d parquet objects on disk\n",
			"", f.fig.latest, f.fig.parts, f.fig.versions, f.fig.snapshots, f.fig.dataFiles)
	}
	b.ReportMetric(ms(last.long.p50), "ms_p50_v"+strconv.Itoa(last.point))
	b.ReportMetric(ms(last.long.p90), "ms_p90_v"+strconv.Itoa(last.point))
	b.ReportMetric(ms(last.peer.p50), "ms_p50_peer_v10")
	b.ReportMetric(ratio, "x_p50_long_vs_short")
	b.ReportMetric(mb(now.iceBytes+now.catBytes), "MB_metadata")
	b.ReportMetric(float64(now.parts), "parts")
	b.ReportMetric(float64(now.versions), "versions_kept")
}

// onePartParquet writes a one-row Parquet file with DuckDB and returns
// its bytes and SHA-256.
func onePartParquet(b *testing.B, dir string) ([]byte, string) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	path := filepath.Join(dir, "one.parquet")
	if _, err := db.Exec(fmt.Sprintf(`COPY (SELECT 1::BIGINT AS id, 'one row' AS label) TO '%s' (FORMAT parquet)`, path)); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.Sum256(data)
	return data, hex.EncodeToString(h[:])
}

type historyFigures struct {
	iceBytes, catBytes, dbBytes int64
	iceFiles, catFiles          int
	dataFiles                   int
	latest, parts, versions     int
	snapshots                   int
}

func figuresOf(b *testing.B, ctx context.Context, st *catalog.Store, root, name string) historyFigures {
	var f historyFigures
	f.iceBytes, f.iceFiles = du(b, filepath.Join(root, "datasets", name, "metadata"))
	f.catBytes, f.catFiles = du(b, filepath.Join(root, "_catalog"))
	for _, p := range []string{"meta.duckdb", "meta.duckdb.wal"} {
		if fi, err := os.Stat(filepath.Join(filepath.Dir(root), p)); err == nil {
			f.dbBytes += fi.Size()
		}
	}
	ents, err := os.ReadDir(filepath.Join(root, "datasets", name))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".parquet" {
			f.dataFiles++
		}
	}
	status, err := st.MaintenanceStatus(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range status {
		if d.Name == name {
			f.latest, f.parts, f.versions, f.snapshots = d.Latest, d.Parts, d.Versions, d.Snapshots
		}
	}
	return f
}

// du is the bytes and files under dir (0 when it does not exist).
func du(b *testing.B, dir string) (int64, int) {
	var size int64
	files := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		size += info.Size()
		files++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return size, files
}

// startWindowProfile profiles one timed window into dir (a no-op
// without dir).
func startWindowProfile(b *testing.B, dir string, point int) func() {
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("window-v%d.pprof", point)))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("window profile (not together with -cpuprofile): %v", err)
	}
	// Lock waits (a commit queued behind compaction or a maintenance
	// pass) take no CPU: the mutex profile shows them.
	prev := runtime.SetMutexProfileFraction(1)
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		runtime.SetMutexProfileFraction(prev)
		mf, err := os.Create(filepath.Join(dir, fmt.Sprintf("window-v%d.mutex.pprof", point)))
		if err != nil {
			b.Fatal(err)
		}
		defer mf.Close()
		if err := pprof.Lookup("mutex").WriteTo(mf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// nearestRank is the q-quantile of sorted durations (nearest rank).
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(n int64) float64 { return float64(n) / 1e6 }
