package ingest

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"lakehouse/internal/demo"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// BenchmarkFormatsVsCSV is issue #20's other measure: the same 100 000
// staffing rows as CSV, NDJSON, Parquet (both written by DuckDB) and
// xlsx (written by excelize's stream writer, every cell a string or a
// number as a spreadsheet holds it), each ingested as a new dataset in
// the same run; the CSV is the peer each format's time is a ratio of.
func BenchmarkFormatsVsCSV(b *testing.B) {
	const rows = 100_000
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "rows.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		b.Fatal(err)
	}
	// ~275 bytes a row in this recipe: ask for a little less than 100 000
	// rows' worth and cut at exactly 100 000 with DuckDB below.
	if _, err := demo.GenerateStaffingCSV(f, rows*290, 7); err != nil {
		b.Fatal(err)
	}
	f.Close()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	exact := filepath.Join(dir, "exact.csv")
	paths := map[string]string{FormatCSV: exact, FormatJSON: filepath.Join(dir, "rows.ndjson"), FormatParquet: filepath.Join(dir, "rows.parquet")}
	for q, args := range map[string][]any{
		"COPY (SELECT * FROM read_csv('%s') LIMIT %d) TO '%s' (HEADER)":         {csvPath, rows, paths[FormatCSV]},
		"COPY (SELECT * FROM read_csv('%s') LIMIT %d) TO '%s' (FORMAT json)":    {csvPath, rows, paths[FormatJSON]},
		"COPY (SELECT * FROM read_csv('%s') LIMIT %d) TO '%s' (FORMAT parquet)": {csvPath, rows, paths[FormatParquet]},
	} {
		if _, err := db.Exec(fmt.Sprintf(q, args...)); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	paths[FormatXLSX] = filepath.Join(dir, "rows.xlsx")
	writeXLSX(b, paths[FormatCSV], paths[FormatXLSX])

	for i := 0; i < b.N; i++ {
		r := newBenchRig(b)
		type result struct{ wall, cpu, rss float64 }
		results := map[string]result{}
		order := []string{FormatCSV, FormatJSON, FormatParquet, FormatXLSX}
		for _, format := range order {
			resetPeakRSS()
			t, c := time.Now(), cpuSeconds()
			res, err := r.IngestFile(context.Background(), paths[format], Request{Dataset: "rows_" + format, Mode: ModeReplace})
			if err != nil {
				b.Fatalf("%s: %v", format, err)
			}
			if res.Manifest.RowCount != rows {
				b.Fatalf("%s: %d rows", format, res.Manifest.RowCount)
			}
			results[format] = result{time.Since(t).Seconds(), cpuSeconds() - c, peakRSS()}
		}
		fmt.Printf("\n%d staffing rows (15 columns) by format, each a new dataset\n", rows)
		fmt.Printf("%-8s %10s %8s %8s %10s %13s %10s\n", "format", "file MB", "wall s", "cpu s", "rows/s", "peak RSS MiB", "x CSV")
		for _, format := range order {
			st, _ := os.Stat(paths[format])
			res := results[format]
			fmt.Printf("%-8s %10.1f %8.2f %8.2f %10.0f %13.0f %10.2f\n", format, float64(st.Size())/1e6, res.wall, res.cpu,
				rows/res.wall, res.rss, res.wall/results[FormatCSV].wall)
			if format != FormatCSV {
				b.ReportMetric(res.wall/results[FormatCSV].wall, "x_csv_"+format)
			}
		}
	}
}

// writeXLSX writes the CSV at src as one worksheet, numbers as numbers.
func writeXLSX(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	records, err := csv.NewReader(in).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	x := excelize.NewFile()
	defer x.Close()
	sw, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	for i, rec := range records {
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
			if i > 0 {
				var n float64
				if _, err := fmt.Sscan(v, &n); err == nil && fmt.Sprint(n) == v {
					row[j] = n
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := x.SaveAs(dst); err != nil {
		b.Fatal(err)
	}
}
