package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

type rig struct {
	ing   *Ingester
	cat   *catalog.Store
	store *storage.Local
	dir   string
}

func newRig(t *testing.T, opt Options) *rig {
	t.Helper()
	dir := t.TempDir()
	ing := newRigTB(t, dir, opt)
	return &rig{ing: ing, cat: ing.cat.(*catalog.Store), store: ing.store.(*storage.Local), dir: dir}
}

func newRigTB(t testing.TB, dir string, opt Options) *Ingester {
	t.Helper()
	st, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(context.Background(), filepath.Join(dir, "meta.duckdb"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	opt.TempDir = filepath.Join(dir, "tmp")
	return NewIngester(cat, st, opt, nil)
}

func (r *rig) file(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(r.dir, fmt.Sprintf("in-%d.csv", len(content)))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r *rig) query(t *testing.T, m catalog.Manifest, q string) string {
	t.Helper()
	var paths []string
	for _, f := range m.Files {
		p, _ := r.store.LocalPath(f.Key)
		paths = append(paths, "'"+p+"'")
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out string
	q = strings.ReplaceAll(q, "$PATH", paths[0])
	if err := db.QueryRow(strings.ReplaceAll(q, "$T", "read_parquet(["+strings.Join(paths, ",")+"])")).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// bigCSV has multi-line quoted fields and doubled quotes in every row so
// split points often fall near them.
func bigCSV(rows int) string {
	var b strings.Builder
	b.WriteString("id,txt,v\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&b, "%d,\"row %d\nsays \"\"hi\"\",\nok\",%d.5\n", i, i, i)
	}
	return b.String()
}

func TestManyPartsKeepEveryRowInOrder(t *testing.T) {
	r := newRig(t, Options{PartSize: 1000, RowGroupRows: 1024, Workers: 2, SampleRows: 10})
	res, err := r.ing.IngestFile(context.Background(), r.file(t, bigCSV(2000)), Request{Dataset: "big"})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if len(m.Files) < 20 || m.RowCount != 2000 {
		t.Fatalf("parts %d rows %d", len(m.Files), m.RowCount)
	}
	if got := r.query(t, m, `SELECT count(*)::VARCHAR || ' ' || sum(id)::VARCHAR || ' ' || count(DISTINCT txt)::VARCHAR FROM $T`); got != "2000 2001000 2000" {
		t.Fatalf("aggregate %q", got)
	}
	// Parts list in file order: ids increase across the concatenation.
	if got := r.query(t, m, `SELECT bool_and(ok)::VARCHAR FROM (SELECT id = row_number() OVER () AS ok FROM $T)`); got != "true" {
		t.Fatalf("order lost")
	}
	if got := r.query(t, m, `SELECT txt FROM $T WHERE id = 1234`); got != "row 1234\nsays \"hi\",\nok" {
		t.Fatalf("value %q", got)
	}
	// Same input again: same content-addressed parts, a replay.
	res2, err := r.ing.IngestFile(context.Background(), r.file(t, bigCSV(2000)), Request{Dataset: "big"})
	if err != nil || !res2.Existing || res2.Manifest.Version != 1 {
		t.Fatalf("replay: %v %+v", err, res2.Manifest)
	}
}

func TestErrorLineInLaterPart(t *testing.T) {
	r := newRig(t, Options{PartSize: 1000, RowGroupRows: 1024, Workers: 2, SampleRows: 10})
	csv := bigCSV(2000)
	// Row 1500 loses its last field: each row spans 3 lines; header line 1.
	csv = strings.Replace(csv, ",1500.5\n", "\n", 1)
	_, err := r.ing.IngestFile(context.Background(), r.file(t, csv), Request{Dataset: "big"})
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line != 2+3*1499 || ce.Column != 3 {
		t.Fatalf("err %v", err)
	}
	if _, err := r.cat.Get(context.Background(), "big"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("registered despite the error: %v", err)
	}
}

// Widening: a value after the sample that breaks the sampled type widens
// the column (int → float → string) in a second pass; never a failure.
func TestWideningAfterSample(t *testing.T) {
	r := newRig(t, Options{PartSize: 1000, RowGroupRows: 1024, Workers: 2, SampleRows: 5})
	var b strings.Builder
	b.WriteString("a,b,c,d,e\n")
	for i := 1; i <= 500; i++ {
		a, bb, c, d, e := fmt.Sprint(i), fmt.Sprint(i), "2024-01-02", "", "true"
		switch i {
		case 300:
			a = "3.25" // int → float
		case 400:
			bb = "n/a" // int → string
		case 450:
			c = "2024-01-02T03:04:05Z" // date → timestamp
		case 480:
			d = "17" // all-null in the sample → int
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", a, bb, c, d, e)
	}
	res, err := r.ing.IngestFile(context.Background(), r.file(t, b.String()), Request{Dataset: "w"})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range res.Manifest.Schema {
		types = append(types, c.Type)
	}
	if strings.Join(types, " ") != "DOUBLE VARCHAR TIMESTAMP BIGINT BOOLEAN" {
		t.Fatalf("types %v", types)
	}
	if res.Stats.Passes != 2 || len(res.Stats.Widened) != 4 {
		t.Fatalf("stats %+v", res.Stats)
	}
	if got := r.query(t, res.Manifest, `SELECT sum(a)::VARCHAR || ' ' || max(d)::VARCHAR || ' ' || count(*)::VARCHAR FROM $T`); got != "124953.25 17 500" {
		t.Fatalf("values %q", got)
	}
}

func TestDelimiterSniffing(t *testing.T) {
	r := newRig(t, Options{})
	for _, d := range []string{",", ";", "\t", "|"} {
		csv := strings.ReplaceAll("id,name,note\n1,\"a,b;c|d\",x\n2,y,z\n", ",", d)
		if d != "," {
			csv = strings.ReplaceAll(csv, "\"a"+d+"b;c|d\"", "\"a,b;c|d\"")
		}
		name := map[string]string{",": "comma", ";": "semi", "\t": "tab", "|": "pipe"}[d]
		res, err := r.ing.IngestFile(context.Background(), r.file(t, csv), Request{Dataset: name})
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		if len(res.Manifest.Schema) != 3 || res.Stats.Delimiter != d {
			t.Fatalf("%q: schema %+v delim %q", d, res.Manifest.Schema, res.Stats.Delimiter)
		}
	}
}

func TestParseValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want kind
	}{
		{"12", kInt}, {"-9223372036854775808", kInt}, {"9223372036854775808", kFloat}, {"1.5", kFloat},
		{".5", kFloat}, {"1e9", kFloat}, {"1e", kString}, {"NaN", kString}, {"Inf", kString},
		{"true", kBool}, {"FALSE", kBool}, {"yes", kString}, {"2024-02-29", kDate}, {"2023-02-29", kString},
		{"2024-01-02T03:04:05Z", kTimestamp}, {"2024-01-02 03:04", kTimestamp}, {"2024-01-02T03:04:05.123+05:30", kTimestamp},
		{"2024-01-02T25:04:05Z", kString}, {"12:30", kString}, {"0x10", kString}, {"+7", kInt},
	} {
		if got := classify([]byte(c.in)); got != c.want {
			t.Errorf("classify(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	us, _ := parseTimestamp([]byte("2024-01-02T03:04:05.123+05:30"))
	if want := int64(1704164645123000) - 19800e6; us != want {
		t.Errorf("timestamp %d want %d", us, want)
	}
	d, _ := parseDate([]byte("1969-12-31"))
	if d != -1 {
		t.Errorf("date %d", d)
	}
}

// The converter refills the same column buffers for every row group; the
// values of every row group (first and last column included, whose chunk
// the writer closes last) must survive that.
func TestRowGroupsReuseBuffers(t *testing.T) {
	r := newRig(t, Options{RowGroupRows: 1024, Workers: 1, SampleRows: 100})
	var b strings.Builder
	b.WriteString("id,a,n,d,last\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "%d,val-%d,%d.25,2024-01-%02d,tail-%d\n", i, i, i, 1+i%28, i*7)
	}
	res, err := r.ing.IngestFile(context.Background(), r.file(t, b.String()), Request{Dataset: "rg"})
	if err != nil {
		t.Fatal(err)
	}
	got := r.query(t, res.Manifest, `SELECT count(DISTINCT a)::VARCHAR || ' ' || count(DISTINCT last)::VARCHAR || ' ' ||
		sum(n)::VARCHAR || ' ' || bool_and(a = 'val-' || id AND last = 'tail-' || (id*7))::VARCHAR || ' ' ||
		bool_and(day(d) = 1 + id % 28)::VARCHAR FROM $T`)
	if got != "5000 5000 12498750.0 true true" {
		t.Fatalf("got %q", got)
	}
	rgs := r.query(t, res.Manifest, `SELECT count(DISTINCT row_group_id)::VARCHAR FROM parquet_metadata($PATH)`)
	if rgs != "5" {
		t.Fatalf("row groups %s", rgs)
	}
}

// The same CSV must give byte-identical parts every time (content
// addressing makes re-ingest idempotent), including columns whose
// cardinality grows past the writer's default dictionary page limit.
func TestOutputIsDeterministic(t *testing.T) {
	// "tag" looks low-cardinality in the sample (so it gets a dictionary)
	// and then turns unique: past 1 MiB of dictionary (the first 1024-value
	// batch of each 2048-row group) arrow-go would fall back to PLAIN and
	// list that chunk's two page encodings in map order (1 in 8 to swap),
	// so 8 such row groups over 3 runs show a regression ~96% of the time.
	var csv strings.Builder
	csv.WriteString("id,tag,v\n")
	pad := strings.Repeat("x", 1100)
	for i := 0; i < 16*1024; i++ {
		tag := []string{"red", "green", "blue"}[i%3]
		if i >= 500 {
			tag = fmt.Sprintf("u%07d-%s", i, pad)
		}
		fmt.Fprintf(&csv, "%d,%s,%d.5\n", i, tag, i%100)
	}
	keys := map[string]bool{}
	for run := 0; run < 3; run++ {
		r := newRig(t, Options{Workers: 1, SampleRows: 500, RowGroupRows: 2048, PartSize: 64 << 20})
		res, err := r.ing.IngestFile(context.Background(), r.file(t, csv.String()), Request{Dataset: "d"})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, f := range res.Manifest.Files {
			ks = append(ks, f.Key)
		}
		keys[strings.Join(ks, ",")] = true
	}
	if len(keys) != 1 {
		t.Fatalf("three runs gave %d different part key sets", len(keys))
	}
}
