package ingest_test

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"lakehouse/app/apptest"
)

// Inputs beyond CSV (issue 20, items 4 and 8): TSV, JSON, Parquet and
// xlsx, detected or forced, through POST /v1/ingest and read back through
// POST /v1/sql; bad ones are 4xx and change nothing.

// postFile posts data as the multipart field "file" named filename (with
// the part's Content-Type ct, if any) and requires status.
func postFile(t *testing.T, s *apptest.Server, query, filename, ct string, data []byte, status int) dialectResp {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	pw, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	w.Close()
	resp, body := s.DoHeader(t, "POST", "/v1/ingest?"+query, buf.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s (%s): status %d want %d: %s", query, filename, resp.StatusCode, status, body)
	}
	var out dialectResp
	if status < 300 {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// postBody posts data as the raw body with Content-Type ct.
func postBody(t *testing.T, s *apptest.Server, query, ct string, data []byte, status int) (dialectResp, apptest.ErrorBody) {
	t.Helper()
	resp, body := s.DoHeader(t, "POST", "/v1/ingest?"+query, data, http.Header{"Content-Type": {ct}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s (%s): status %d want %d: %s", query, ct, resp.StatusCode, status, body)
	}
	var out dialectResp
	var e apptest.ErrorBody
	if status < 300 {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
	} else if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body %s: %v", body, err)
	}
	return out, e
}

func wantSchema(t *testing.T, got dialectResp, want string) {
	t.Helper()
	if s := schemaOf(got.Manifest); s != want {
		t.Fatalf("schema %s\nwant   %s", s, want)
	}
}

// testWorkbook is a two-sheet xlsx: "Report" has a title line, a blank
// row, then the table (strings, numbers, a date cell, a date-time cell, a
// text cell that looks like a number, a formula with its cached value);
// "Other" is a plain table.
func testWorkbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Report"); err != nil {
		t.Fatal(err)
	}
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yyyy
	custom := "dd.mm.yyyy hh:mm"
	tsStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
	money, _ := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00: stays a number
	set := func(sheet, cell string, v any) {
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			t.Fatal(err)
		}
	}
	set("Report", "A1", "Quarterly report")
	for i, h := range []string{"id", "name", "amount", "joined", "seen", "zip", "total"} {
		set("Report", string(rune('A'+i))+"3", h)
	}
	rows := [][]any{
		{1, "Ada", 1234.5, time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 13, 45, 30, 0, time.UTC), "007"},
		{2, "Lovelace, \"Countess\"", 2.25, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 1, 0, time.UTC), "10115"},
	}
	for r, row := range rows {
		n := string(rune('4' + r))
		for c, v := range row {
			set("Report", string(rune('A'+c))+n, v)
		}
		f.SetCellStyle("Report", "C"+n, "C"+n, money)
		f.SetCellStyle("Report", "D"+n, "D"+n, dateStyle)
		f.SetCellStyle("Report", "E"+n, "E"+n, tsStyle)
		// The formula's cached value is what the file holds (excelize
		// does not calculate): 10× the id.
		set("Report", "G"+n, float64(10*(r+1)))
		if err := f.SetCellFormula("Report", "G"+n, "A"+n+"*10"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.NewSheet("Other"); err != nil {
		t.Fatal(err)
	}
	set("Other", "A1", "k")
	set("Other", "B1", "flag")
	set("Other", "A2", "x")
	set("Other", "B2", true)
	set("Other", "A3", "y")
	set("Other", "B3", false)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXSheetsHeaderDatesFormulas(t *testing.T) {
	s := apptest.Start(t)
	book := testWorkbook(t)
	// Detected by the file name; the first sheet; the header found below
	// the title line.
	out := postFile(t, s, "name=xl", "book.xlsx", "", book, 201)
	wantSchema(t, out, "id BIGINT, name VARCHAR, amount DOUBLE, joined DATE, seen TIMESTAMP, zip VARCHAR, total BIGINT")
	if st := out.Ingest; st.Format != "xlsx" || st.FormatBy != "file name" || st.Sheet != "Report" || st.HeaderRow != 3 || st.Rows != 2 || st.InputBytes != int64(len(book)) {
		t.Fatalf("stats %+v", st)
	}
	if len(out.Ingest.Notes) == 0 || !strings.Contains(out.Ingest.Notes[0], "header is row 3") {
		t.Fatalf("notes %q", out.Ingest.Notes)
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name, amount, joined::VARCHAR, seen::VARCHAR, zip, total FROM xl ORDER BY id"),
		"1|Ada|1234.5|2024-01-31|2024-02-01 13:45:30|007|10",
		`2|Lovelace, "Countess"|2.25|1999-12-31|2000-01-01 00:00:01|10115|20`)
	// The same workbook again is an idempotent replay.
	again := postFile(t, s, "name=xl", "book.xlsx", "", book, 200)
	if again.Version != 1 {
		t.Fatalf("replay: %+v", again.Manifest)
	}
	// sheet= picks another sheet (by name, any case, or position);
	// detected by the Content-Type of a raw body.
	other, _ := postBody(t, s, "name=xl_other&sheet=other", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", book, 201)
	wantSchema(t, other, "k VARCHAR, flag BOOLEAN")
	if other.Ingest.FormatBy != "content-type" || other.Ingest.Sheet != "Other" || other.Ingest.HeaderRow != 1 {
		t.Fatalf("stats %+v", other.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT k, flag FROM xl_other ORDER BY k"), "x|true", "y|false")
	// By position, detected by the zip's magic bytes; header_row= given.
	pos, _ := postBody(t, s, "name=xl_pos&sheet=2&header_row=1", "application/octet-stream", book, 201)
	if pos.Ingest.FormatBy != "content" || pos.Ingest.Sheet != "Other" || pos.RowCount != 2 {
		t.Fatalf("by position: %+v", pos.Ingest)
	}
	// A missing sheet is a 400 that lists the sheets.
	_, e := postBody(t, s, "name=xl_none&sheet=Nope", "application/octet-stream", book, 400)
	if !strings.Contains(e.Error.Message, `"Report", "Other"`) {
		t.Fatalf("missing sheet: %+v", e)
	}
}

func TestJSONNestedAndArray(t *testing.T) {
	s := apptest.Start(t)
	nd := `{"id": 1, "user": {"name": "ada", "age": 36}, "tags": ["a", "b"], "extra": {"k": 1}, "day": "2024-05-06"}
{"id": 2, "user": {"name": "bob", "age": 41}, "tags": [], "extra": [1, 2], "day": "2024-05-07"}

{"id": 3, "user": null, "tags": ["c"], "extra": "text", "day": null}
`
	out := postFile(t, s, "name=nd", "events.ndjson", "", []byte(nd), 201)
	wantSchema(t, out, "id BIGINT, user STRUCT(name VARCHAR, age BIGINT), tags VARCHAR[], extra JSON, day DATE")
	if out.Ingest.Format != "json" || out.Ingest.FormatBy != "file name" || out.RowCount != 3 {
		t.Fatalf("stats %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, `SELECT id, "user".name, "user".age, len(tags), tags[1], extra::VARCHAR, day::VARCHAR FROM nd ORDER BY id`),
		`1|ada|36|2|a|{"k":1}|2024-05-06`,
		`2|bob|41|0|NULL|[1,2]|2024-05-07`,
		`3|NULL|NULL|1|c|"text"|NULL`)
	again := postFile(t, s, "name=nd", "events.ndjson", "", []byte(nd), 200)
	if again.Version != 1 {
		t.Fatalf("replay: %+v", again.Manifest)
	}
	// A JSON array, detected by the Content-Type; pretty-printed.
	arr := "[\n  {\"k\": \"x\", \"v\": 1.5},\n  {\"k\": \"y\", \"v\": 2}\n]\n"
	a, _ := postBody(t, s, "name=arr", "application/json", []byte(arr), 201)
	wantSchema(t, a, "k VARCHAR, v DOUBLE")
	if a.Ingest.FormatBy != "content-type" {
		t.Fatalf("stats %+v", a.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT k, v FROM arr ORDER BY k"), "x|1.5", "y|2")
	// Detected by the first byte of a body sent as text/csv.
	b, _ := postBody(t, s, "name=arr2", "text/csv", []byte(arr), 201)
	if b.Ingest.Format != "json" || b.Ingest.FormatBy != "content" {
		t.Fatalf("stats %+v", b.Ingest)
	}
	// A key first seen after DuckDB's default sample is a column too.
	var late strings.Builder
	for i := 1; i <= 21000; i++ {
		late.WriteString(`{"id": ` + itoa(i) + "}\n")
	}
	late.WriteString(`{"id": 21001, "late": "here"}` + "\n")
	l, _ := postBody(t, s, "name=late", "application/x-ndjson", []byte(late.String()), 201)
	wantSchema(t, l, "id BIGINT, late VARCHAR")
	wantLines(t, sqlLines(t, s, "SELECT id, late FROM late WHERE late IS NOT NULL"), "21001|here")
}

// parquetFile writes rows with DuckDB and returns the file's bytes.
func parquetFile(t *testing.T, query string) []byte {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := filepath.Join(t.TempDir(), "in.parquet")
	if _, err := db.Exec("COPY (" + query + ") TO '" + p + "' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParquetAndTSV(t *testing.T) {
	s := apptest.Start(t)
	pq := parquetFile(t, `SELECT i::INTEGER AS id, 'n' || i AS name, (i * 1.5)::DOUBLE AS score,
		(TIMESTAMP '2024-01-02 03:04:05.123456' + to_seconds(i))::TIMESTAMP_NS AS ts, i::UTINYINT AS small,
		{'a': i, 'b': [i, i + 1]} AS nested FROM range(1, 4) t(i)`)
	out, _ := postBody(t, s, "name=pq", "application/octet-stream", pq, 201)
	wantSchema(t, out, "id INTEGER, name VARCHAR, score DOUBLE, ts TIMESTAMP, small SMALLINT, nested STRUCT(a BIGINT, b BIGINT[])")
	if out.Ingest.Format != "parquet" || out.Ingest.FormatBy != "content" || out.RowCount != 3 {
		t.Fatalf("stats %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name, score, ts::VARCHAR, small, nested.a, nested.b[2] FROM pq ORDER BY id"),
		"1|n1|1.5|2024-01-02 03:04:06.123456|1|1|2",
		"2|n2|3|2024-01-02 03:04:07.123456|2|2|3",
		"3|n3|4.5|2024-01-02 03:04:08.123456|3|3|4")
	postBody(t, s, "name=pq", "application/vnd.apache.parquet", pq, 200) // replay
	// TSV: by Content-Type, by name, and forced.
	tsv := []byte("id\tname\n1\ta,b\n2\tc;d\n")
	a, _ := postBody(t, s, "name=tsv1", "text/tab-separated-values", tsv, 201)
	b := postFile(t, s, "name=tsv2", "x.tsv", "", tsv, 201)
	c, _ := postBody(t, s, "name=tsv3&format=tsv", "text/plain", tsv, 201)
	for _, r := range []dialectResp{a, b, c} {
		if r.Ingest.Format != "tsv" || r.Ingest.Delimiter != "\t" {
			t.Fatalf("tsv: %+v", r.Ingest)
		}
		wantSchema(t, r, "id BIGINT, name VARCHAR")
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name FROM tsv3 ORDER BY id"), "1|a,b", "2|c;d")
	// format= wins over the name, the Content-Type and the bytes: a CSV
	// whose first character is [ is read as CSV when told so.
	d := postFile(t, s, "name=forced&format=csv", "odd.json", "application/json", []byte("[x],y\n1,2\n"), 201)
	if d.Ingest.Format != "csv" || d.Ingest.FormatBy != "format=" {
		t.Fatalf("forced: %+v", d.Ingest)
	}
	wantSchema(t, d, "[x] BIGINT, y BIGINT")
	postBody(t, s, "name=forced&format=xls", "text/csv", []byte("a\n1\n"), 400)
	postBody(t, s, "name=forced&format=tsv&delimiter=%3B", "text/csv", []byte("a\n1\n"), 400)
}

// An append of NDJSON (keys in another order, integers into a DOUBLE
// column) onto a dataset made from CSV works; a value of another type is
// drift, and the version stays.
func TestJSONAppendOntoCSVAndDrift(t *testing.T) {
	s := apptest.Start(t)
	v1 := ingestRaw(t, s, "name=mix", []byte("id,name,score,day\n1,a,1.5,2024-01-01\n"), 201)
	nd := "{\"name\": \"b\", \"score\": 2, \"id\": 2, \"day\": \"2024-01-02\"}\n{\"id\": 3, \"name\": null, \"score\": 3.25, \"day\": null}\n"
	v2, _ := postBody(t, s, "name=mix", "application/x-ndjson", []byte(nd), 201)
	if v2.Version != 2 || v2.RowCount != 3 || schemaOf(v2.Manifest) != schemaOf(v1.Manifest) {
		t.Fatalf("append: %+v", v2.Manifest)
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name, score, day::VARCHAR FROM mix ORDER BY id"),
		"1|a|1.5|2024-01-01", "2|b|2|2024-01-02", "3|NULL|3.25|NULL")
	_, e := postBody(t, s, "name=mix", "application/x-ndjson", []byte(`{"id": "x", "name": "c", "score": 1, "day": "2024-01-03"}`+"\n"), 409)
	if e.Error.Code != "schema_drift" || !strings.Contains(e.Error.Message, "id changed BIGINT → VARCHAR") {
		t.Fatalf("drift: %+v", e)
	}
	_, e = postBody(t, s, "name=mix", "application/json", []byte(`[{"id": 4, "name": "c", "score": 1, "day": "2024-01-03", "more": true}]`), 409)
	if e.Error.Code != "schema_drift" || !reflect.DeepEqual(e.Error.Details["added"], []any{"more"}) {
		t.Fatalf("drift: %+v", e)
	}
	// A value past DuckDB's default sample (20 480 records) that breaks
	// the type: the types come from every record, so it is drift too,
	// not a 500 (and a key first seen there is not dropped).
	var big strings.Builder
	for i := 10; i < 30000; i++ {
		big.WriteString(`{"id": ` + itoa(i) + `, "name": "n", "score": 1.5, "day": "2024-01-01"}` + "\n")
	}
	big.WriteString(`{"id": "late", "name": "n", "score": 1.5, "day": "2024-01-01"}` + "\n")
	_, e = postBody(t, s, "name=mix", "application/x-ndjson", []byte(big.String()), 409)
	if e.Error.Code != "schema_drift" {
		t.Fatalf("late drift: %+v", e)
	}
	var man dialectResp
	s.JSON(t, "GET", "/v1/catalog/manifest/mix", nil, 200, &man)
	if man.Version != 2 {
		t.Fatalf("drift changed the dataset: v%d", man.Version)
	}
}

func itoa(i int) string {
	var b []byte
	for ; i > 0 || len(b) == 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// zipBomb is an xlsx whose sheet inflates ~1000× into 64 MiB of blanks.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	add("[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)
	add("xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	add("xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`))
	blank := bytes.Repeat([]byte(" "), 1<<20)
	for i := 0; i < 64; i++ {
		w.Write(blank)
	}
	w.Write([]byte(`</sheetData></worksheet>`))
	zw.Close()
	return buf.Bytes()
}

// parquetClaiming is a Parquet file whose footer (thrift compact,
// written by hand) claims rows rows in one row group of one INT64 column
// whose chunk claims as many values, over a few bytes of data.
func parquetClaiming(rows int64) []byte {
	var f []byte
	varint := func(v uint64) {
		for v >= 0x80 {
			f = append(f, byte(v)|0x80)
			v >>= 7
		}
		f = append(f, byte(v))
	}
	zz := func(v int64) { varint(uint64((v << 1) ^ (v >> 63))) }
	str := func(s string) { varint(uint64(len(s))); f = append(f, s...) }
	f = append(f, 0x15) // 1: version i32
	zz(1)
	f = append(f, 0x19, 0x2C) // 2: schema list<struct>, 2 elements
	f = append(f, 0x48)       // root: 4 name
	str("schema")
	f = append(f, 0x15) // 5 num_children
	zz(1)
	f = append(f, 0x00)
	f = append(f, 0x15) // column: 1 type = INT64
	zz(2)
	f = append(f, 0x25) // 3 repetition_type = OPTIONAL
	zz(1)
	f = append(f, 0x18) // 4 name
	str("a")
	f = append(f, 0x00)
	f = append(f, 0x16) // 3: num_rows i64
	zz(rows)
	f = append(f, 0x19, 0x1C) // 4: row_groups list<struct>, 1 element
	f = append(f, 0x19, 0x1C) // row group 1: columns list<struct>, 1 element
	f = append(f, 0x26)       // column chunk 2: file_offset
	zz(4)
	f = append(f, 0x1C) // 3: meta_data
	f = append(f, 0x15) // 1 type INT64
	zz(2)
	f = append(f, 0x19, 0x15) // 2 encodings list<i32>: PLAIN
	zz(0)
	f = append(f, 0x19, 0x18) // 3 path_in_schema list<string>
	str("a")
	f = append(f, 0x15) // 4 codec UNCOMPRESSED
	zz(0)
	f = append(f, 0x16) // 5 num_values
	zz(rows)
	f = append(f, 0x16) // 6 total_uncompressed_size
	zz(8)
	f = append(f, 0x16) // 7 total_compressed_size
	zz(8)
	f = append(f, 0x26) // 9 data_page_offset
	zz(4)
	f = append(f, 0x00) // end meta_data
	f = append(f, 0x00) // end column chunk
	f = append(f, 0x16) // row group 2: total_byte_size
	zz(8)
	f = append(f, 0x16) // 3: num_rows
	zz(rows)
	f = append(f, 0x00) // end row group
	f = append(f, 0x00) // end file metadata
	out := append([]byte("PAR1"), make([]byte, 8)...)
	out = append(out, f...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(f)))
	return append(out, "PAR1"...)
}

// Item 8: each bad input is a 4xx naming the problem; the existing
// dataset keeps its version and files, no new dataset appears, nothing
// stored changes and no work dir is left behind.
func TestBadInputsOfEveryFormat(t *testing.T) {
	s := apptest.Start(t)
	v1 := ingestRaw(t, s, "name=keep", []byte("id,name\n1,a\n"), 201)
	before := snapshotObjects(t, s.DataDir)
	good := testWorkbook(t)
	// Damage the compressed bytes of the first sheet (its local header
	// is the first place the name appears).
	corrupt := append([]byte(nil), good...)
	at := bytes.Index(corrupt, []byte("xl/worksheets/sheet1.xml")) + len("xl/worksheets/sheet1.xml") + 40
	copy(corrupt[at:], bytes.Repeat([]byte{0xAB}, 64))
	pq := parquetFile(t, "SELECT range AS id, 'x' || range AS name FROM range(1000)")
	cases := []struct {
		name, ct string
		body     []byte
		status   int
		code     string
		want     []string
		details  map[string]any
	}{
		{"xlsx not a zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []byte("PK\x03\x04 this is not a zip"), 400, "bad_xlsx", []string{"zip"}, nil},
		{"xlsx truncated", "application/octet-stream", good[:len(good)/2], 400, "bad_xlsx", []string{"zip"}, nil},
		{"xlsx damaged", "application/octet-stream", corrupt, 400, "bad_xlsx", nil, nil},
		{"xlsx zip bomb", "application/octet-stream", zipBomb(t), 413, "too_large", []string{"zip bomb", "sheet1.xml"}, nil},
		{"legacy xls", "application/octet-stream", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), 400, "bad_xlsx", []string{".xls"}, nil},
		{"json line", "application/x-ndjson", []byte("{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3,, }\n"), 400, "bad_json", []string{"record 3", "line 3", "invalid character"}, map[string]any{"line": 3.0, "record": 3.0}},
		{"json not an object", "application/x-ndjson", []byte("{\"id\": 1}\n\n[1, 2]\n"), 400, "bad_json", []string{"record 2", "line 3", "not an object"}, nil},
		{"json unterminated", "application/json", []byte("[{\"id\": 1},\n {\"id\": \"x\n"), 400, "bad_json", []string{"record 2", "line 2"}, nil},
		{"json array junk", "application/json", []byte("[{\"id\": 1}] x"), 400, "bad_json", nil, nil},
		{"json empty", "application/json", []byte("  \n"), 400, "bad_json", []string{"empty"}, nil},
		{"parquet 10^12 rows", "application/octet-stream", parquetClaiming(1_000_000_000_000), 400, "bad_parquet", []string{"1000000000000 rows"}, nil},
		{"parquet rows without values", "application/octet-stream", parquetClaimingValues(), 400, "bad_parquet", nil, nil},
		{"parquet truncated", "application/vnd.apache.parquet", pq[:len(pq)-100], 400, "bad_parquet", []string{"PAR1"}, nil},
		{"parquet garbage pages", "application/vnd.apache.parquet", garblePages(pq), 400, "bad_parquet", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ds := range []string{"keep", "fresh"} {
				_, e := postBody(t, s, "name="+ds, c.ct, c.body, c.status)
				if e.Error.Code != c.code {
					t.Fatalf("code %q want %q: %s", e.Error.Code, c.code, e.Error.Message)
				}
				for _, w := range c.want {
					if !strings.Contains(e.Error.Message, w) {
						t.Fatalf("message %q does not say %q", e.Error.Message, w)
					}
				}
				for k, v := range c.details {
					if e.Error.Details[k] != v {
						t.Fatalf("details %v: %s is not %v", e.Error.Details, k, v)
					}
				}
				if strings.Contains(e.Error.Message, s.DataDir) || strings.Contains(e.Error.Message, "/tmp") {
					t.Fatalf("message shows a server path: %s", e.Error.Message)
				}
			}
		})
	}
	var man dialectResp
	s.JSON(t, "GET", "/v1/catalog/manifest/keep", nil, 200, &man)
	if man.Version != 1 || !reflect.DeepEqual(man.Files, v1.Files) {
		t.Fatalf("bad input changed the dataset: %+v", man.Manifest)
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/fresh", nil, 404)
	if after := snapshotObjects(t, s.DataDir); !reflect.DeepEqual(before, after) {
		t.Fatalf("bad input changed stored objects: %d before, %d after", len(before), len(after))
	}
	if entries, _ := os.ReadDir(filepath.Join(s.DataDir, "tmp")); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

// parquetClaimingValues: a footer whose row group claims more rows than
// its column chunk holds values.
func parquetClaimingValues() []byte {
	b := parquetClaiming(5)
	// num_values is the second zig-zag 5 (0x0A) after path_in_schema "a":
	// make it 1 (0x02).
	i := bytes.Index(b, []byte{0x18, 0x01, 'a', 0x15, 0x00, 0x16, 0x0A})
	b[i+6] = 0x02
	return b
}

// garblePages overwrites the middle of a Parquet file's data pages,
// leaving the footer intact.
func garblePages(pq []byte) []byte {
	b := append([]byte(nil), pq...)
	flen := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	end := len(b) - 8 - flen
	for i := 4; i < end; i++ {
		b[i] ^= 0x5A
	}
	return b
}

// lakehouse ingest reads every format: in-process, where the path's
// extension decides (--format, --sheet, --header-row forced), and with
// --server, which sends filename= so the server can tell.
func TestCLIFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	book := write("book.xlsx", testWorkbook(t))
	nd := write("events.jsonl", []byte(`{"id": 1, "tags": ["a"]}`+"\n"+`{"id": 2, "tags": []}`+"\n"))
	noext := write("events", []byte(`{"id": 1, "tags": ["a"]}`+"\n"))
	pq := write("t.parquet", parquetFile(t, "SELECT 1 AS id"))
	bad := write("bad.json", []byte("{\"id\": 1}\n{oops}\n"))
	data := filepath.Join(dir, "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ingest", book, "--dataset", "xl"}, "ingested xl v1: 2 rows"},
		{[]string{"ingest", book, "--dataset", "xl2", "--sheet", "Other", "--header-row", "1"}, "ingested xl2 v1: 2 rows"},
		{[]string{"ingest", nd, "--dataset", "ev"}, "ingested ev v1: 2 rows"},
		{[]string{"ingest", noext, "--dataset", "ev2", "--format", "ndjson"}, "ingested ev2 v1: 1 rows"},
		{[]string{"ingest", pq, "--dataset", "pq"}, "ingested pq v1: 1 rows"},
	} {
		if out := runChild(t, nil, append([]string{"--data-dir", data}, c.args...)...); !strings.Contains(out, c.want) {
			t.Fatalf("%v: %s", c.args, out)
		}
	}
	out, err := child(t, nil, "--data-dir", data, "ingest", bad, "--dataset", "bad").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "record 2, line 2: invalid JSON") {
		t.Fatalf("bad json: %v %s", err, out)
	}

	s := apptest.Start(t)
	for _, c := range [][]string{{book, "xl", "--sheet", "Other"}, {nd, "ev"}, {pq, "pq"}} {
		args := append([]string{"ingest", c[0], "--dataset", c[1], "--server", s.URL}, c[2:]...)
		if out := runChild(t, []string{"AUTH_TOKEN=" + s.Token}, args...); !strings.Contains(out, "ingested "+c[1]+" v1") {
			t.Fatalf("--server %v: %s", c, out)
		}
	}
	wantLines(t, sqlLines(t, s, "SELECT k, flag FROM xl ORDER BY k"), "x|true", "y|false")
	wantLines(t, sqlLines(t, s, "SELECT id, len(tags) FROM ev ORDER BY id"), "1|1", "2|0")
	wantLines(t, sqlLines(t, s, "SELECT id FROM pq"), "1")
}
