package ingest_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/ingest"
)

// CSV as people's tools write it (issue 20, item 5): encodings, sniffed
// delimiters and quotes, and dates in the common local formats, each
// choice reported in the answer and overridable.

// dialectResp is an ingest answer with the whole statistics.
type dialectResp struct {
	catalog.Manifest
	Ingest ingest.Stats `json:"ingest"`
}

// ingestRaw posts body as text/csv with the query and requires status.
func ingestRaw(t *testing.T, s *apptest.Server, query string, body []byte, status int) dialectResp {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, body, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s: status %d want %d: %s", query, resp.StatusCode, status, data)
	}
	var out dialectResp
	if status < 300 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sqlLines runs q through POST /v1/sql and renders each row "a|b|c".
func sqlLines(t *testing.T, s *apptest.Server, q string) []string {
	t.Helper()
	resp, data := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": q, "limit": 100000})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sql %s: %d %s", q, resp.StatusCode, data)
	}
	var out struct {
		Rows [][]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	lines := []string{}
	for _, r := range out.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = fmt.Sprint(v)
			}
		}
		lines = append(lines, strings.Join(cells, "|"))
	}
	return lines
}

func schemaOf(m catalog.Manifest) string {
	var out []string
	for _, c := range m.Schema {
		out = append(out, c.Name+" "+c.Type)
	}
	return strings.Join(out, ", ")
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %q\nwant %q", got, want)
	}
}

// A Windows Excel export (Windows-1252: é, ç, €, curly quotes) is read
// without being told (and the answer says it guessed), or with
// encoding=windows-1252; latin-1 differs from it exactly at 0x80–0x9F.
func TestWindows1252DetectedOrGiven(t *testing.T) {
	s := apptest.Start(t)
	cp := []byte("id;name;city\r\n1;Ren\xe9;Montr\xe9al\r\n2;Fran\xe7ois;Orl\xe9ans\r\n3;\x80uro;\x93quoted\x94\r\n")

	auto := ingestRaw(t, s, "name=cp_auto", cp, 201)
	st := auto.Ingest
	if st.Encoding != "windows-1252" || !st.EncodingDetected || st.BOM || len(st.Notes) != 1 || !strings.Contains(st.Notes[0], "windows-1252") {
		t.Fatalf("auto: %+v", st)
	}
	if st.Delimiter != ";" || !st.DelimiterDetected || schemaOf(auto.Manifest) != "id BIGINT, name VARCHAR, city VARCHAR" {
		t.Fatalf("auto: delimiter %q, schema %s", st.Delimiter, schemaOf(auto.Manifest))
	}
	want := []string{"1|René|Montréal", "2|François|Orléans", "3|€uro|“quoted”"}
	wantLines(t, sqlLines(t, s, "SELECT id, name, city FROM cp_auto ORDER BY id"), want...)

	given := ingestRaw(t, s, "name=cp_given&encoding=Windows-1252", cp, 201)
	if given.Ingest.Encoding != "windows-1252" || given.Ingest.EncodingDetected || len(given.Ingest.Notes) != 0 {
		t.Fatalf("given: %+v", given.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name, city FROM cp_given ORDER BY id"), want...)
	// The same bytes give the same parts whichever way the encoding came.
	if !reflect.DeepEqual(auto.Files[0].SHA256, given.Files[0].SHA256) {
		t.Fatalf("parts differ: %v vs %v", auto.Files, given.Files)
	}

	latin := ingestRaw(t, s, "name=cp_latin&encoding=iso-8859-1", cp, 201)
	if latin.Ingest.Encoding != "latin-1" {
		t.Fatalf("latin: %+v", latin.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT name = chr(128) || 'uro', city FROM cp_latin WHERE id = 3"), "true|\u0093quoted\u0094")

	// Given as UTF-8, the same file is refused where the first bad byte is,
	// and the message says how to name the encoding.
	e := ingestFail(t, s, "name=cp_utf8&encoding=utf8", string(cp), 400)
	if e.Error.Code != "bad_csv" || e.Error.Details["line"] != float64(2) || e.Error.Details["column"] != float64(2) ||
		!strings.Contains(e.Error.Message, "0xe9") || !strings.Contains(e.Error.Message, "encoding=windows-1252") {
		t.Fatalf("utf-8 given: %+v", e)
	}
}

// A UTF-8 byte order mark is dropped: the first column's name is clean.
func TestUTF8BOMHeaderIsClean(t *testing.T) {
	s := apptest.Start(t)
	out := ingestRaw(t, s, "name=bom", []byte("\xEF\xBB\xBFid,caf\xc3\xa9\n1,cr\xc3\xa8me\n"), 201)
	if schemaOf(out.Manifest) != "id BIGINT, café VARCHAR" || out.Ingest.Encoding != "utf-8" || !out.Ingest.BOM || !out.Ingest.EncodingDetected {
		t.Fatalf("schema %s, stats %+v", schemaOf(out.Manifest), out.Ingest)
	}
	wantLines(t, sqlLines(t, s, `SELECT id, "café" FROM bom`), "1|crème")
	// encoding=utf-8 with the mark is fine too; encoding=windows-1252
	// contradicts it.
	ingestRaw(t, s, "name=bom2&encoding=utf-8", []byte("\xEF\xBB\xBFid\n1\n"), 201)
	e := ingestFail(t, s, "name=bom3&encoding=windows-1252", "\xEF\xBB\xBFid\n1\n", 400)
	if !strings.Contains(e.Error.Message, "byte order mark") {
		t.Fatalf("conflict: %+v", e)
	}
}

// utf16Bytes encodes s as UTF-16 with a byte order mark.
func utf16Bytes(s string, be bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if be {
		order = binary.BigEndian
	}
	var b []byte
	for _, u := range append([]uint16{0xFEFF}, utf16.Encode([]rune(s))...) {
		b = order.AppendUint16(b, u)
	}
	return b
}

// Excel's "Unicode text" is tab-separated UTF-16 LE with a byte order
// mark; BE works the same, and so does LE without the mark. Characters outside the BMP (surrogate pairs)
// survive; an unpaired surrogate is a 400 with its line.
func TestUTF16WithBOM(t *testing.T) {
	s := apptest.Start(t)
	text := "id\tname\tcity\r\n1\tZoë\t東京\r\n2\t\"a\tb\"\t😀\r\n"
	for _, be := range []bool{false, true} {
		name, enc := "u16le", "utf-16le"
		if be {
			name, enc = "u16be", "utf-16be"
		}
		out := ingestRaw(t, s, "name="+name, utf16Bytes(text, be), 201)
		st := out.Ingest
		if st.Encoding != enc || !st.EncodingDetected || !st.BOM || st.Delimiter != "\t" || schemaOf(out.Manifest) != "id BIGINT, name VARCHAR, city VARCHAR" {
			t.Fatalf("%s: stats %+v schema %s", name, st, schemaOf(out.Manifest))
		}
		wantLines(t, sqlLines(t, s, "SELECT id, name, city FROM "+name+" ORDER BY id"), "1|Zoë|東京", "2|a\tb|😀")
	}
	// Without the mark, the NUL bytes give UTF-16 away (and the answer
	// says it guessed).
	noMark := utf16Bytes(text, false)[2:]
	out := ingestRaw(t, s, "name=u16nomark", noMark, 201)
	if out.Ingest.Encoding != "utf-16le" || out.Ingest.BOM || len(out.Ingest.Notes) != 1 {
		t.Fatalf("no mark: %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT name FROM u16nomark ORDER BY id"), "Zoë", "a\tb")
	// encoding=utf-16 follows the mark.
	if out := ingestRaw(t, s, "name=u16&encoding=utf-16", utf16Bytes(text, true), 201); out.Ingest.Encoding != "utf-16be" || out.Ingest.EncodingDetected {
		t.Fatalf("utf-16: %+v", out.Ingest)
	}
	bad := utf16Bytes("id\n1\n2\n", false)
	bad = append(bad, 0x00, 0xD8, '\n', 0) // a high surrogate, then a newline
	e := ingestFail(t, s, "name=u16bad", string(bad), 400)
	if e.Error.Code != "bad_csv" || e.Error.Details["line"] != float64(4) || !strings.Contains(e.Error.Message, "surrogate") {
		t.Fatalf("unpaired surrogate: %+v", e)
	}
}

// Delimiters and quotes are sniffed; delimiter= and quote= override.
func TestDelimiterAndQuoteSniffed(t *testing.T) {
	s := apptest.Start(t)
	// ';' with decimal commas and a quoted ';' (the example).
	semi := ingestRaw(t, s, "name=semis", []byte("name;city;start\nAda;\"Paris; FR\";2,5\nBob;Rome, IT;3\n"), 201)
	if semi.Ingest.Delimiter != ";" || semi.Ingest.Quote != `"` || !semi.Ingest.QuoteDetected || len(semi.Schema) != 3 {
		t.Fatalf("semicolon: %+v %s", semi.Ingest, schemaOf(semi.Manifest))
	}
	wantLines(t, sqlLines(t, s, "SELECT name, city, start FROM semis ORDER BY name"), "Ada|Paris; FR|2,5", "Bob|Rome, IT|3")

	pipe := ingestRaw(t, s, "name=pipe", []byte("a|b|c\n1|x, y|2.5\n2|z; w|3\n"), 201)
	if pipe.Ingest.Delimiter != "|" || schemaOf(pipe.Manifest) != "a BIGINT, b VARCHAR, c DOUBLE" {
		t.Fatalf("pipe: %+v %s", pipe.Ingest, schemaOf(pipe.Manifest))
	}
	wantLines(t, sqlLines(t, s, "SELECT a, b, c FROM pipe ORDER BY a"), "1|x, y|2.5", "2|z; w|3")

	// Single quotes around fields holding the delimiter.
	sq := ingestRaw(t, s, "name=sq", []byte("id,name\n1,'Smith, J'\n2,'O''Brien'\n3,plain\n"), 201)
	if sq.Ingest.Quote != "'" || len(sq.Schema) != 2 {
		t.Fatalf("single quote: %+v %s", sq.Ingest, schemaOf(sq.Manifest))
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name FROM sq ORDER BY id"), "1|Smith, J", "2|O'Brien", "3|plain")

	// Inches: a bare quote in unquoted fields reads without quoting...
	inch := ingestRaw(t, s, "name=inch", []byte("id,size\n1,5\" screen\n2,7\"\n"), 201)
	if inch.Ingest.Quote != "none" || !inch.Ingest.QuoteDetected {
		t.Fatalf("inches: %+v", inch.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT id, size FROM inch ORDER BY id"), `1|5" screen`, `2|7"`)
	// ... and quote=none says so for a file whose quotes are text.
	none := ingestRaw(t, s, "name=noq&quote=none", []byte("id,t\n1,\"a\"\n"), 201)
	if none.Ingest.Quote != "none" || none.Ingest.QuoteDetected {
		t.Fatalf("quote=none: %+v", none.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT t FROM noq"), `"a"`)

	// delimiter= overrides the sniffer: this file splits on ';' but is
	// asked for ','.
	one := ingestRaw(t, s, "name=one&delimiter=,", []byte("a;b\n1;2\n"), 201)
	if one.Ingest.Delimiter != "," || one.Ingest.DelimiterDetected || schemaOf(one.Manifest) != "a;b VARCHAR" {
		t.Fatalf("delimiter=,: %+v %s", one.Ingest, schemaOf(one.Manifest))
	}

	// Bad dialect parameters are 400 before the upload is read.
	for _, q := range []string{"quote=x", "quote=%27&delimiter=%27"} {
		e := ingestFail(t, s, "name=bad&"+q, "a\n1\n", 400)
		if e.Error.Code != "bad_request" {
			t.Fatalf("%s: %+v", q, e)
		}
	}
}

// An unknown encoding= is a 400 naming the accepted values.
func TestUnknownEncodingIs400(t *testing.T) {
	s := apptest.Start(t)
	e := ingestFail(t, s, "name=enc&encoding=ebcdic", "id\n1\n", 400)
	for _, w := range []string{"ebcdic", "utf-8", "utf-16le", "utf-16be", "windows-1252", "latin-1"} {
		if e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, w) {
			t.Fatalf("message lacks %q: %+v", w, e)
		}
	}
	// As a multipart field before the file, too.
	body, ct := multipartBody(t, "id\n1\n", map[string]string{"encoding": "klingon"})
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=enc", body, http.Header{"Content-Type": {ct}})
	if resp.StatusCode != 400 || !bytes.Contains(data, []byte("windows-1252")) {
		t.Fatalf("multipart: %d %s", resp.StatusCode, data)
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/enc", nil, 404)
}

// Dates and timestamps in the common local formats become DATE and
// TIMESTAMP; the answer names each column's layout.
func TestLocalDatesAndTimestamps(t *testing.T) {
	s := apptest.Start(t)
	csv := "id,us,eu,de,ts,iso\n" +
		"1,12/31/2025,13/01/2025,31.12.2025,12/31/2025 13:45,2025-12-31\n" +
		"2,1/5/2025,02/03/2025,1.2.2025,1/2/2025 1:05:09 PM,2025-01-02\n"
	out := ingestRaw(t, s, "name=dates", []byte(csv), 201)
	if got := schemaOf(out.Manifest); got != "id BIGINT, us DATE, eu DATE, de DATE, ts TIMESTAMP, iso DATE" {
		t.Fatalf("schema %s", got)
	}
	want := []ingest.DateFormat{
		{Column: "us", Type: "DATE", Format: "%m/%d/%Y", Detected: true},
		{Column: "eu", Type: "DATE", Format: "%d/%m/%Y", Detected: true},
		{Column: "de", Type: "DATE", Format: "%d.%m.%Y", Detected: true},
		{Column: "ts", Type: "TIMESTAMP", Format: "%m/%d/%Y %H:%M[:%S[.%f]][ %p]", Detected: true},
		{Column: "iso", Type: "DATE", Format: "%Y-%m-%d", Detected: true},
	}
	if !reflect.DeepEqual(out.Ingest.DateFormats, want) || len(out.Ingest.Notes) != 0 {
		t.Fatalf("date formats %+v\nwant %+v\nnotes %q", out.Ingest.DateFormats, want, out.Ingest.Notes)
	}
	wantLines(t, sqlLines(t, s, `SELECT id, us::VARCHAR, (us + 1)::VARCHAR, eu::VARCHAR, de::VARCHAR, strftime(ts, '%Y-%m-%d %H:%M:%S'), iso::VARCHAR FROM dates ORDER BY id`),
		"1|2025-12-31|2026-01-01|2025-01-13|2025-12-31|2025-12-31 13:45:00|2025-12-31",
		"2|2025-01-05|2025-01-06|2025-03-02|2025-02-01|2025-01-02 13:05:09|2025-01-02")
	wantLines(t, sqlLines(t, s, `SELECT typeof(us), typeof(ts) FROM dates LIMIT 1`), "DATE|TIMESTAMP")

	// Appends: m/d/Y dates fit a DATE column first written ISO, and a
	// TIMESTAMP column takes a date as midnight.
	ingestRaw(t, s, "name=app", []byte("id,d,t\n1,2025-01-02,2025-01-02T03:04:05Z\n"), 201)
	out = ingestRaw(t, s, "name=app", []byte("id,d,t\n2,12/31/2025,12/30/2025\n"), 201)
	if got := schemaOf(out.Manifest); got != "id BIGINT, d DATE, t TIMESTAMP" || out.Version != 2 {
		t.Fatalf("append: %s v%d", got, out.Version)
	}
	wantLines(t, sqlLines(t, s, `SELECT id, d::VARCHAR, t::VARCHAR FROM app ORDER BY id`), "1|2025-01-02|2025-01-02 03:04:05", "2|2025-12-31|2025-12-30 00:00:00")
}

// Every sampled value reading both ways: month first, said in the answer;
// unless another column's values decide the file's order.
func TestAmbiguousDates(t *testing.T) {
	s := apptest.Start(t)
	out := ingestRaw(t, s, "name=amb", []byte("id,d\n1,01/02/2025\n2,03/04/2025\n"), 201)
	if f := out.Ingest.DateFormats; len(f) != 1 || f[0].Format != "%m/%d/%Y" || !f[0].Ambiguous ||
		len(out.Ingest.Notes) != 1 || !strings.Contains(out.Ingest.Notes[0], "dateformat=%d/%m/%Y") {
		t.Fatalf("ambiguous: %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT d::VARCHAR FROM amb ORDER BY id"), "2025-01-02", "2025-03-04")

	out = ingestRaw(t, s, "name=amb2", []byte("id,a,b\n1,01/02/2025,13/02/2025\n2,03/04/2025,01/01/2025\n"), 201)
	if f := out.Ingest.DateFormats; len(f) != 2 || f[0].Format != "%d/%m/%Y" || !f[0].Ambiguous || f[1].Ambiguous ||
		len(out.Ingest.Notes) != 1 || !strings.Contains(out.Ingest.Notes[0], `"b"`) {
		t.Fatalf("decided by b: %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT a::VARCHAR, b::VARCHAR FROM amb2 ORDER BY id"), "2025-02-01|2025-02-13", "2025-04-03|2025-01-01")
}

// dateformat= and timestampformat= override the detection.
func TestDateFormatOverrides(t *testing.T) {
	s := apptest.Start(t)
	out := ingestRaw(t, s, "name=df&dateformat="+url.QueryEscape("%d/%m/%Y"), []byte("id,d,iso\n1,01/02/2025,2025-05-06\n"), 201)
	want := []ingest.DateFormat{{Column: "d", Type: "DATE", Format: "%d/%m/%Y"}, {Column: "iso", Type: "DATE", Format: "%Y-%m-%d", Detected: true}}
	if !reflect.DeepEqual(out.Ingest.DateFormats, want) {
		t.Fatalf("dateformat: %+v", out.Ingest.DateFormats)
	}
	wantLines(t, sqlLines(t, s, "SELECT d::VARCHAR, iso::VARCHAR FROM df"), "2025-02-01|2025-05-06")

	out = ingestRaw(t, s, "name=tf&timestampformat="+url.QueryEscape("%d %b %Y, %I:%M %p"), []byte("id;t\n1;31 Dec 2025, 11:59 PM\n2;1 january 2025, 12:00 AM\n3;2 Jan 2025\n"), 201)
	if f := out.Ingest.DateFormats; len(f) != 1 || f[0].Type != "TIMESTAMP" || f[0].Format != "%d %b %Y, %I:%M %p" || f[0].Detected {
		t.Fatalf("timestampformat: %+v", out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT strftime(t, '%Y-%m-%d %H:%M') FROM tf ORDER BY id"), "2025-12-31 23:59", "2025-01-01 00:00", "2025-01-02 00:00")

	for _, q := range []string{"dateformat=%25Q", "dateformat=" + url.QueryEscape("%d/%m"), "dateformat=" + url.QueryEscape("%d/%m/%Y %H")} {
		if e := ingestFail(t, s, "name=badf&"+q, "d\n1\n", 400); e.Error.Code != "bad_request" {
			t.Fatalf("%s: %+v", q, e)
		}
	}
}

// A value after the sample that breaks the detected layout widens the
// column to VARCHAR (one more pass), keeping every row's text; it is
// never read in another layout.
func TestDateColumnWidensOnALaterBadValue(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Ingest.SampleRows = 10 })
	var b strings.Builder
	b.WriteString("id,d,ok\n")
	for i := 1; i <= 30; i++ {
		d := fmt.Sprintf("%02d/%02d/2025", 1+i%12, 1+i%12) // ambiguous: m/d/Y by default
		switch i {
		case 20:
			d = "13/01/2025" // would read as d/m/Y: not taken
		case 25:
			d = "garbage"
		}
		fmt.Fprintf(&b, "%d,%s,%d/15/2025\n", i, d, 1+i%12)
	}
	out := ingestRaw(t, s, "name=wide", []byte(b.String()), 201)
	if got := schemaOf(out.Manifest); got != "id BIGINT, d VARCHAR, ok DATE" {
		t.Fatalf("schema %s", got)
	}
	if out.Ingest.Passes != 2 || len(out.Ingest.Widened) != 1 || out.Ingest.Widened[0] != (ingest.Widen{Column: "d", From: "DATE", To: "VARCHAR"}) || out.RowCount != 30 {
		t.Fatalf("stats %+v rows %d", out.Ingest, out.RowCount)
	}
	if f := out.Ingest.DateFormats; len(f) != 1 || f[0].Column != "ok" {
		t.Fatalf("date formats %+v", f)
	}
	wantLines(t, sqlLines(t, s, "SELECT count(*), count(d), max(ok)::VARCHAR FROM wide"), "30|30|2025-12-15")
	wantLines(t, sqlLines(t, s, "SELECT d FROM wide WHERE id IN (1, 20, 25) ORDER BY id"), "02/02/2025", "13/01/2025", "garbage")

	// A date column whose later value is a timestamp in the same layout
	// widens to TIMESTAMP.
	b.Reset()
	b.WriteString("id,d\n")
	for i := 1; i <= 30; i++ {
		if i == 28 {
			fmt.Fprintf(&b, "%d,12/31/2025 10:30\n", i)
			continue
		}
		fmt.Fprintf(&b, "%d,12/%02d/2025\n", i, i)
	}
	out = ingestRaw(t, s, "name=wide_ts", []byte(b.String()), 201)
	if got := schemaOf(out.Manifest); got != "id BIGINT, d TIMESTAMP" || out.Ingest.Passes != 2 {
		t.Fatalf("schema %s, stats %+v", got, out.Ingest)
	}
	wantLines(t, sqlLines(t, s, "SELECT strftime(d, '%Y-%m-%d %H:%M') FROM wide_ts WHERE id IN (1, 28) ORDER BY id"), "2025-12-01 00:00", "2025-12-31 10:30")
}

// The CLI takes --encoding (and the other dialect flags) in-process and
// with --server, and prints the answer's notes.
func TestCLIEncodingFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cp.csv")
	if err := os.WriteFile(path, []byte("id;name;born\n1;Ren\xe9;31.12.1990\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	out := runChild(t, nil, "--data-dir", data, "ingest", path, "--dataset", "cp")
	if !strings.Contains(out, "ingested cp v1: 1 rows") || !strings.Contains(out, "note: the file is not valid UTF-8") {
		t.Fatalf("detected: %s", out)
	}
	out = runChild(t, nil, "--data-dir", data, "ingest", path, "--dataset", "cp", "--mode", "replace", "--encoding", "cp1252")
	if strings.Contains(out, "note:") {
		t.Fatalf("given: %s", out)
	}
	if out, err := child(t, nil, "--data-dir", data, "ingest", path, "--dataset", "cp", "--encoding", "ebcdic").CombinedOutput(); err == nil || !strings.Contains(string(out), "windows-1252") {
		t.Fatalf("bad --encoding: %v %s", err, out)
	}

	s := apptest.Start(t)
	out = runChild(t, []string{"AUTH_TOKEN=" + s.Token}, "ingest", path, "--dataset", "cp", "--server", s.URL,
		"--encoding", "windows-1252", "--date-format", "%d.%m.%Y", "--quote", "none")
	if !strings.Contains(out, "ingested cp v1: 1 rows") {
		t.Fatalf("--server: %s", out)
	}
	wantLines(t, sqlLines(t, s, "SELECT name, born::VARCHAR FROM cp"), "René|1990-12-31")
}
