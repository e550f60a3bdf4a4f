package iceberg

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go/table"

	"lakehouse/modules/storage"
)

// putParquet writes one Parquet part with an id column of the given type
// (int64 or float64 or string) and a name column, and returns its File.
func putParquet(t *testing.T, st storage.Store, key string, idType arrow.DataType, ids []any, names []string) File {
	t.Helper()
	mem := memory.NewGoAllocator()
	sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: idType, Nullable: true}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	for _, v := range ids {
		switch bb := b.Field(0).(type) {
		case *array.Int64Builder:
			bb.Append(int64(v.(int)))
		case *array.Float64Builder:
			bb.Append(v.(float64))
		case *array.StringBuilder:
			bb.Append(fmt.Sprint(v))
		}
	}
	for _, n := range names {
		b.Field(1).(*array.StringBuilder).Append(n)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sch, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), key, bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		t.Fatal(err)
	}
	return File{Key: key, Bytes: int64(buf.Len()), Rows: int64(len(ids))}
}

// scanRows reads a snapshot (by tag) into "id|name" strings, in file order.
func scanRows(t *testing.T, tbl *table.Table, tag string) []string {
	t.Helper()
	sc, err := tbl.Scan().UseRef(tag)
	if err != nil {
		t.Fatalf("use ref %s: %v", tag, err)
	}
	at, err := sc.ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan %s: %v", tag, err)
	}
	defer at.Release()
	var out []string
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, rec.Column(0).ValueStr(i)+"|"+rec.Column(1).ValueStr(i))
		}
	}
	return out
}

func TestCommitAppendReplaceEvolve(t *testing.T) {
	ctx := context.Background()
	st, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tabs, err := New(st, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := []Column{{"id", "BIGINT"}, {"name", "VARCHAR"}}
	f1 := putParquet(t, st, "datasets/people/a.parquet", arrow.PrimitiveTypes.Int64, []any{1, 2}, []string{"ann", "bob"})
	v1 := Version{Number: 1, Columns: cols, Files: []File{f1}, Fingerprint: "fp1", Source: "a.csv"}
	if err := tabs.Commit(ctx, "people", nil, v1); err != nil {
		t.Fatal(err)
	}
	f2 := putParquet(t, st, "datasets/people/b.parquet", arrow.PrimitiveTypes.Int64, []any{3}, []string{"cid"})
	v2 := Version{Number: 2, Columns: cols, Files: []File{f1, f2}, Fingerprint: "fp1"}
	if err := tabs.Commit(ctx, "people", &v1, v2); err != nil {
		t.Fatal(err)
	}
	// replace with the id column widened to DOUBLE: a new field id.
	f3 := putParquet(t, st, "datasets/people/c.parquet", arrow.PrimitiveTypes.Float64, []any{1.5}, []string{"dee"})
	v3 := Version{Number: 3, Columns: []Column{{"id", "DOUBLE"}, {"name", "VARCHAR"}}, Files: []File{f3}, Fingerprint: "fp2"}
	if err := tabs.Commit(ctx, "people", &v2, v3); err != nil {
		t.Fatal(err)
	}
	tb, err := tabs.Load(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Version != 3 || tb.Seq != 3 {
		t.Fatalf("head = version %d seq %d, want 3/3", tb.Version, tb.Seq)
	}
	if !strings.HasPrefix(tb.Location(), "file:///") {
		t.Fatalf("location %q is not an absolute file URI", tb.Location())
	}
	snaps := tb.Metadata().Snapshots()
	if len(snaps) != 3 {
		t.Fatalf("%d snapshots, want 3", len(snaps))
	}
	wantOps := []table.Operation{table.OpAppend, table.OpAppend, table.OpOverwrite}
	for i, s := range snaps {
		if s.Summary.Operation != wantOps[i] {
			t.Errorf("snapshot %d operation %s, want %s", i+1, s.Summary.Operation, wantOps[i])
		}
		if got := s.Summary.Properties[PropVersion]; got != fmt.Sprint(i+1) {
			t.Errorf("snapshot %d lakehouse.version = %q", i+1, got)
		}
	}
	if f, _ := tb.Schema().FindFieldByName("id"); f.ID != 1 || f.Type.String() != "double" {
		t.Errorf("widened id = field %d %s, want field 1 double", f.ID, f.Type)
	}
	for tag, want := range map[string][]string{
		"v1": {"1|ann", "2|bob"},
		"v2": {"1|ann", "2|bob", "3|cid"},
		"v3": {"1.5|dee"},
	} {
		got := scanRows(t, tb.Table, tag)
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s rows = %v, want %v", tag, got, want)
		}
	}

	// Rewind undoes v3 (as after a crash before the catalog commit).
	if err := tabs.Rewind(ctx, "people", 2); err != nil {
		t.Fatal(err)
	}
	if h, _ := tabs.Head(ctx, "people"); h != 2 {
		t.Fatalf("head after rewind = %d, want 2", h)
	}
	if _, err := st.Stat(ctx, metaKey("people", 3)); err == nil {
		t.Fatal("v3 metadata survived the rewind")
	}
	if err := tabs.Drop(ctx, "people"); err != nil {
		t.Fatal(err)
	}
	if h, _ := tabs.Head(ctx, "people"); h != 0 {
		t.Fatalf("head after drop = %d", h)
	}
}
