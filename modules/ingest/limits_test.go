package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// wideCSV is a header of n columns c0..c(n-1) and rows rows of integers.
func wideCSV(n, rows int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", i)
	}
	b.WriteByte('\n')
	for r := range rows {
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", r+i)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestWideFewRowsAllocatesForTheRowsSeen: a wide CSV of one row reserved
// columns × 122 880 rows of buffers (4096 BIGINT columns: 4 GiB; 20 000
// columns: ~20 GiB of address space). Buffers now start at the rows the
// span can hold and grow; the whole ingest allocates a small fraction.
func TestWideFewRowsAllocatesForTheRowsSeen(t *testing.T) {
	r := newRig(t, Options{Workers: 1})
	path := r.file(t, wideCSV(4096, 1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := r.ing.IngestFile(context.Background(), path, Request{Dataset: "wide"})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifest.Schema) != 4096 || res.Stats.Rows != 1 {
		t.Fatalf("schema %d columns, %d rows", len(res.Manifest.Schema), res.Stats.Rows)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("4096 columns × 1 row: %d MiB allocated", alloc>>20)
	if alloc > 512<<20 {
		t.Fatalf("ingesting 4096 columns × 1 row allocated %d MiB", alloc>>20)
	}
}

// TestBuffersGrowPastTheEstimate: when the sample underestimates the rows
// (short rows first, long rows after), buffers grow and every value lands.
func TestBuffersGrowPastTheEstimate(t *testing.T) {
	r := newRig(t, Options{Workers: 1, SampleRows: 10, RowGroupRows: 4096})
	var b strings.Builder
	b.WriteString("id,flag,txt\n")
	for i := range 20 {
		fmt.Fprintf(&b, "%d,true,%s\n", i, strings.Repeat("x", 2000))
	}
	for i := 20; i < 10000; i++ {
		fmt.Fprintf(&b, "%d,%t,\n", i, i%3 == 0)
	}
	res, err := r.ing.IngestFile(context.Background(), r.file(t, b.String()), Request{Dataset: "grow"})
	if err != nil {
		t.Fatal(err)
	}
	got := r.query(t, res.Manifest, `SELECT count(*)::VARCHAR || ' ' || sum(id)::VARCHAR || ' ' || count(*) FILTER (WHERE flag)::VARCHAR || ' ' || count(txt)::VARCHAR FROM $T`)
	if want := fmt.Sprintf("10000 %d %d 20", 9999*10000/2, 20+(9999-21)/3+1); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestColumnAndRecordCaps: more columns than max_columns, a record longer
// than max_record_bytes, a file without newlines and an over-long column
// name are each a CSVError naming the limit, before any conversion.
func TestColumnAndRecordCaps(t *testing.T) {
	r := newRig(t, Options{MaxColumns: 100, MaxRecordBytes: 1 << 20})
	for _, tc := range []struct {
		name, csv string
		want      []string
	}{
		{"columns", wideCSV(101, 1), []string{"101 columns", "at most 100", "ingest.max_columns"}},
		{"record", "id,txt\n1," + strings.Repeat("y", 2<<20) + "\n", []string{"longer than 1048576", "ingest.max_record_bytes"}},
		{"no newline", strings.Repeat("z", 3<<20), []string{"longer than 1048576"}},
		{"column name", "id," + strings.Repeat("n", 2000) + "\n1,2\n", []string{"column name of 2000 bytes", "1024"}},
	} {
		_, err := r.ing.IngestFile(context.Background(), r.file(t, tc.csv), Request{Dataset: "capped"})
		var ce *CSVError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a CSVError", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", tc.name, err, w)
			}
		}
	}
	if _, err := r.ing.IngestFile(context.Background(), r.file(t, wideCSV(100, 2)), Request{Dataset: "edge"}); err != nil {
		t.Fatalf("100 columns (the cap): %v", err)
	}
}
