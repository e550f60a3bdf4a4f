package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lakehouse/modules/catalog"
)

// upsertRun is one timed contender of BenchmarkUpsertVsReplace.
type upsertRun struct {
	name    string
	wall    float64
	cpu     float64
	rss     float64
	written int64
	change  *ChangeStats
}

// BenchmarkUpsertVsReplace is issue #20's measure: a 1% upsert of a keyed
// staffing dataset (LAKEHOUSE_BENCH_UPSERT_MB of CSV, default 1024 ≈ 3.9M
// rows), with the keys clustered (the newest ids) and spread (every 100th
// id), the key declared at the first version, against a full replace
// with the same final rows and against
// DuckDB doing the same merge (anti-join + union + COPY to Parquet) in
// the same run. Goals: clustered ≥ 10× faster than replace, spread no
// slower than replace, peak RSS ≤ replace's.
func BenchmarkUpsertVsReplace(b *testing.B) {
	mb := envMB(b, "LAKEHOUSE_BENCH_UPSERT_MB", 1024)
	path, rows := benchCSVOf(b, mb)
	// Each DuckDB the benchmark itself uses is closed before the next
	// contender runs: its buffers would count in that contender's peak RSS.
	openDuck := func() *sql.DB {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec("SET threads = 2"); err != nil {
			b.Fatal(err)
		}
		return db
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		db := openDuck()
		// The changes: hourly_rate moves for 1% of the candidates.
		idNum := "CAST(substr(candidate_id, 6) AS BIGINT)"
		changes := map[string]string{
			"clustered": fmt.Sprintf("%s > %d", idNum, rows-rows/100),
			"spread":    idNum + " % 100 = 0",
		}
		files := map[string]string{}
		for name, where := range changes {
			files[name] = filepath.Join(dir, name+".csv")
			q := fmt.Sprintf("COPY (SELECT * REPLACE (hourly_rate + 1 AS hourly_rate) FROM read_csv('%s') WHERE %s) TO '%s' (HEADER)", path, where, files[name])
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()

		r := newBenchRig(b)
		ctx := context.Background()
		t0 := time.Now()
		// The key is declared at the first version, as a team that will
		// upsert does: its parts are then an eighth of the default size.
		base, err := r.IngestFile(ctx, path, Request{Dataset: "candidates", Mode: ModeReplace, Key: []string{"candidate_id"}})
		if err != nil {
			b.Fatal(err)
		}
		setup := time.Since(t0).Seconds()
		// partList is a version's parts as a DuckDB list of paths.
		partList := func(files []catalog.File) string {
			paths := make([]string, len(files))
			for j, f := range files {
				paths[j] = sqlQuote(filepath.Join(r.opt.TempDir, "..", "objects", filepath.FromSlash(f.Key)))
			}
			return strings.Join(paths, ", ")
		}

		timed := func(name string, fn func() (int64, *ChangeStats)) upsertRun {
			resetPeakRSS()
			t, c := time.Now(), cpuSeconds()
			written, ch := fn()
			return upsertRun{name: name, wall: time.Since(t).Seconds(), cpu: cpuSeconds() - c, rss: peakRSS(), written: written, change: ch}
		}
		upsert := func(name string) upsertRun {
			return timed("upsert 1% "+name, func() (int64, *ChangeStats) {
				res, err := r.IngestFile(ctx, files[name], Request{Dataset: "candidates", Mode: ModeUpsert, Key: []string{"candidate_id"}})
				if err != nil {
					b.Fatal(err)
				}
				if ch := res.Stats.Change; ch == nil || ch.Updated != rows/100 && name == "clustered" {
					b.Fatalf("%s upsert: %+v", name, res.Stats.Change)
				}
				return res.Stats.Change.BytesWritten, res.Stats.Change
			})
		}
		clustered := upsert("clustered")
		spread := upsert("spread")
		// The same final rows as one CSV, ingested as a replace.
		cur, err := r.cat.Get(ctx, "candidates")
		if err != nil {
			b.Fatal(err)
		}
		final := filepath.Join(dir, "final.csv")
		db = openDuck()
		if _, err := db.Exec(fmt.Sprintf("COPY (SELECT * FROM read_parquet([%s])) TO '%s' (HEADER)", partList(cur.Files), final)); err != nil {
			b.Fatal(err)
		}
		db.Close()
		replace := timed("replace (same rows)", func() (int64, *ChangeStats) {
			res, err := r.IngestFile(ctx, final, Request{Dataset: "candidates", Mode: ModeReplace})
			if err != nil {
				b.Fatal(err)
			}
			var n int64
			for _, f := range res.Manifest.Files {
				n += f.Bytes
			}
			return n, nil
		})
		// DuckDB's merge of the clustered change into the first version's
		// parts: what a user would write by hand.
		db = openDuck()
		duck := timed("duckdb merge (clustered)", func() (int64, *ChangeStats) {
			out := filepath.Join(dir, "merged.parquet")
			q := fmt.Sprintf(`COPY (SELECT * FROM read_parquet([%s]) ANTI JOIN read_csv('%s') u USING (candidate_id)
				UNION ALL BY NAME SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet, COMPRESSION snappy)`,
				partList(base.Manifest.Files), files["clustered"], files["clustered"], out)
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
			st, _ := os.Stat(out)
			return st.Size(), nil
		})
		db.Close()

		fmt.Printf("\nupsert 1%% of %d rows (%d MB CSV, %d parts; first replace %.1f s)\n", rows, mb, len(base.Manifest.Files), setup)
		fmt.Printf("%-26s %8s %8s %13s %12s %s\n", "", "wall s", "cpu s", "peak RSS MiB", "written MB", "parts rewritten/dropped/kept")
		for _, u := range []upsertRun{clustered, spread, replace, duck} {
			parts := ""
			if u.change != nil {
				parts = fmt.Sprintf("%d/%d/%d", u.change.PartsRewritten, u.change.PartsDropped, u.change.PartsKept)
			}
			fmt.Printf("%-26s %8.2f %8.2f %13.0f %12.1f %s\n", u.name, u.wall, u.cpu, u.rss, float64(u.written)/1e6, parts)
		}
		fmt.Printf("replace / upsert clustered: %.2fx (goal ≥ 10); replace / upsert spread: %.2fx (goal ≥ 1); duckdb merge / upsert clustered: %.2fx\n",
			replace.wall/clustered.wall, replace.wall/spread.wall, duck.wall/clustered.wall)
		fmt.Printf("peak RSS upsert clustered / replace: %.2f, spread / replace: %.2f (goal ≤ 1)\n", clustered.rss/replace.rss, spread.rss/replace.rss)
		b.ReportMetric(replace.wall/clustered.wall, "x_replace_clustered")
		b.ReportMetric(replace.wall/spread.wall, "x_replace_spread")
		b.ReportMetric(duck.wall/clustered.wall, "x_duckdb_clustered")
	}
}
