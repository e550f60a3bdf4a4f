package smoke

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// column and manifest are the parts of a catalog manifest the suite reads.
type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type manifest struct {
	DatasetID         string   `json:"dataset_id"`
	Name              string   `json:"name"`
	Version           int      `json:"version"`
	Schema            []column `json:"schema"`
	SchemaFingerprint string   `json:"schema_fingerprint"`
	Files             []struct {
		Key    string `json:"key"`
		Bytes  int64  `json:"bytes"`
		Rows   int64  `json:"rows"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
	RowCount   int64    `json:"row_count"`
	UpdatedAt  string   `json:"updated_at"`
	ObjectKeys []string `json:"object_keys"`
	Existing   bool     `json:"existing"`
}

// userDatasets leaves out the observer's audit dataset, which appears once
// the audit trail is first flushed (at the latest on shutdown).
func userDatasets(all []manifest) []manifest {
	var out []manifest
	for _, d := range all {
		if d.Name != "observer_events" {
			out = append(out, d)
		}
	}
	return out
}

// csvBody is a raw text/csv ingest body.
func csvBody(s string) Raw { return Raw{"text/csv", []byte(s)} }

// multipartCSV is the original API's upload shape: the file in field "file".
func multipartCSV(t *testing.T, filename, content string) Raw {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	f, err := w.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(content))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return Raw{w.FormDataContentType(), b.Bytes()}
}

// datasetID is the original system's dataset id: UUIDv5 of the name in its
// namespace (RFC 4122 §4.3, computed here independently of the product).
func datasetID(name string) string {
	ns, _ := hex.DecodeString("a8f3c1d24e5b5a6c9d8e7f0a1b2c3d4e")
	h := sha1.Sum(append(ns, name...))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// fingerprint is the schema fingerprint as the compatibility notes define
// it: SHA-256 over (name 0x1f type) pairs joined by 0x1e.
func fingerprint(cols []column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, c.Name+"\x1f"+c.Type)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1e")))
	return hex.EncodeToString(sum[:])
}

const peopleCSV = `id,name,score,start,note
1,Ada,9.5,2024-01-15,"likes ""quotes"""
2,Grace,7.25,2024-02-01,"two
lines"
3,Linus,8,2024-03-10,plain
`

// TestIngest: a CSV (quoted quotes, a field over two lines) becomes one
// content-addressed Parquet part with inferred types; re-sending it changes
// nothing; an append adds a version; a file with another column or a type
// that does not fit is refused with 409 schema_drift and nothing is
// written; malformed requests get 400 with the line at fault.
func TestIngest(t *testing.T) {
	t.Parallel()
	s := newNode(t, nil).start(t)

	var v1 manifest
	s.Call(t, "POST", "/v1/ingest?name=people", multipartCSV(t, "people.csv", peopleCSV), 201, &v1)
	want := []column{{"id", "BIGINT"}, {"name", "VARCHAR"}, {"score", "DOUBLE"}, {"start", "DATE"}, {"note", "VARCHAR"}}
	if v1.Version != 1 || v1.RowCount != 3 || v1.Existing || !slices.Equal(v1.Schema, want) ||
		v1.DatasetID != datasetID("people") || v1.SchemaFingerprint != fingerprint(want) || len(v1.Files) != 1 {
		t.Fatalf("first ingest: %+v", v1)
	}
	part := v1.Files[0]
	data := s.Call(t, "GET", "/v1/storage/get/"+part.Key, nil, 200, nil).Body
	sum := sha256.Sum256(data)
	if !bytes.HasPrefix(data, []byte("PAR1")) || !bytes.HasSuffix(data, []byte("PAR1")) {
		t.Fatalf("%s is not a Parquet file (%d bytes)", part.Key, len(data))
	}
	if part.Key != "datasets/people/"+hex.EncodeToString(sum[:])+".parquet" || part.SHA256 != hex.EncodeToString(sum[:]) ||
		part.Bytes != int64(len(data)) || part.Rows != 3 {
		t.Fatalf("part %+v is not the content-addressed object it names (%d bytes, sha256 %x)", part, len(data), sum)
	}
	rows := s.SQL(t, `SELECT id, name, score, start, note FROM people ORDER BY id`)
	if got := fmt.Sprint(rows); got != `[[1 Ada 9.5 2024-01-15 likes "quotes"] [2 Grace 7.25 2024-02-01 two`+"\n"+`lines] [3 Linus 8 2024-03-10 plain]]` {
		t.Fatalf("rows read back: %s", got)
	}

	var again manifest
	s.Call(t, "POST", "/v1/ingest?name=people", csvBody(peopleCSV), 200, &again)
	if !again.Existing || again.Version != 1 {
		t.Fatalf("re-ingest of the same file: %+v", again)
	}
	var v2 manifest
	s.Call(t, "POST", "/v1/ingest?name=people&mode=append", csvBody("id,name,score,start,note\n4,Edsger,6.5,2024-04-01,x\n5,Barbara,9,2024-05-02,y\n"), 201, &v2)
	if v2.Version != 2 || v2.RowCount != 5 || len(v2.Files) != 2 {
		t.Fatalf("append: %+v", v2)
	}

	e := s.Fail(t, "POST", "/v1/ingest?name=people", csvBody("id,name,score,start,note,extra\n6,Ken,1,2024-06-01,z,new\n"), 409, "schema_drift")
	if added, _ := e.Error.Details["added"].([]any); len(added) != 1 || added[0] != "extra" {
		t.Fatalf("drift details: %v", e.Error.Details)
	}
	s.Fail(t, "POST", "/v1/ingest?name=people", csvBody("id,name,score,start,note\nseven,Ken,1,2024-06-01,z\n"), 409, "schema_drift")
	var after manifest
	s.Call(t, "GET", "/v1/catalog/manifest/people", nil, 200, &after)
	if after.Version != 2 || after.RowCount != 5 {
		t.Fatalf("a refused ingest changed the dataset: %+v", after)
	}
	if got := fmt.Sprint(s.SQL(t, `SELECT count(*), sum(score) FROM people`)); got != "[[5 40.25]]" {
		t.Fatalf("after the refused ingests: %s", got)
	}

	s.Fail(t, "POST", "/v1/ingest", csvBody(peopleCSV), 400, "")
	s.Fail(t, "POST", "/v1/ingest?name=Bad-Name", csvBody(peopleCSV), 400, "invalid_name")
	bad := s.Fail(t, "POST", "/v1/ingest?name=ragged", csvBody("a,b\n1,2\n3\n"), 400, "bad_csv")
	if bad.Error.Details["line"] != 3.0 {
		t.Fatalf("ragged row: details %v, want line 3", bad.Error.Details)
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/ragged", nil, 404, "")
}

// TestCatalog: a Parquet part uploaded through storage is registered by
// hand (the original's register call), with the original's dataset_id and
// idempotency (same fingerprint → existing: true, another → 409); manifest
// and list show it; SQL reads it; after a graceful restart, and again after
// the metadata database is deleted (the catalog rehydrates from the
// manifest objects in storage), list, manifest and SQL answer the same.
func TestCatalog(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil)
	s := n.start(t)

	// A real Parquet part to register: made by ingest under another name.
	var src manifest
	s.Call(t, "POST", "/v1/ingest?name=source", csvBody("id,name\n1,ann\n2,bob\n3,cy\n"), 201, &src)
	if fingerprint(src.Schema) != src.SchemaFingerprint ||
		fingerprint([]column{{"id", "BIGINT"}, {"name", "VARCHAR"}}) != "dccc4041e4dfcf1a14fca98ba4db6c10e0f3980e3e638906bd24e64c9d1cc785" {
		t.Fatalf("fingerprint %s of %v is not the documented one", src.SchemaFingerprint, src.Schema)
	}
	part := s.Call(t, "GET", "/v1/storage/get/"+src.Files[0].Key, nil, 200, nil).Body
	const key = "datasets/people/part-1.parquet"
	s.Call(t, "PUT", "/v1/storage/put/"+key, Raw{"application/vnd.apache.parquet", part}, 201, nil)

	reg := map[string]any{"name": "people", "schema_fingerprint": src.SchemaFingerprint, "schema": src.Schema,
		"files": []map[string]any{{"key": key, "rows": 3}}}
	var first, second manifest
	s.Call(t, "POST", "/v1/catalog/register", reg, 201, &first)
	if first.Existing || first.Version != 1 || first.RowCount != 3 || first.DatasetID != datasetID("people") ||
		!slices.Equal(first.ObjectKeys, []string{key}) || first.Files[0].Bytes != int64(len(part)) {
		t.Fatalf("register: %+v", first)
	}
	s.Call(t, "POST", "/v1/catalog/register", reg, 200, &second)
	if !second.Existing || second.Version != 1 || second.DatasetID != first.DatasetID {
		t.Fatalf("register again: %+v", second)
	}
	other := []column{{"id", "BIGINT"}, {"name", "VARCHAR"}, {"age", "BIGINT"}}
	s.Fail(t, "POST", "/v1/catalog/register", map[string]any{"name": "people", "schema_fingerprint": fingerprint(other),
		"schema": other, "files": []map[string]any{{"key": key, "rows": 3}}}, 409, "schema_drift")
	s.Fail(t, "POST", "/v1/catalog/register", map[string]any{"name": "people", "files": []map[string]any{{"key": key}}}, 400, "")
	s.Fail(t, "POST", "/v1/catalog/register", map[string]any{"name": "ghost", "schema_fingerprint": src.SchemaFingerprint,
		"schema": src.Schema, "files": []map[string]any{{"key": "datasets/ghost/none.parquet", "rows": 1}}}, 400, "")
	s.Fail(t, "GET", "/v1/catalog/manifest/ghost", nil, 404, "")

	// What the catalog says, in the fields the original's clients read.
	look := func(s *server) string {
		t.Helper()
		var m manifest
		s.Call(t, "GET", "/v1/catalog/manifest/people", nil, 200, &m)
		if m.UpdatedAt == "" || m.Name != "people" {
			t.Fatalf("manifest: %+v", m)
		}
		var list struct {
			Datasets []manifest `json:"datasets"`
		}
		s.Call(t, "GET", "/v1/catalog/list", nil, 200, &list)
		var b strings.Builder
		fmt.Fprintf(&b, "manifest %s v%d %d rows %v fp %s;", m.DatasetID, m.Version, m.RowCount, m.ObjectKeys, m.SchemaFingerprint)
		count := 0
		for _, d := range userDatasets(list.Datasets) {
			fmt.Fprintf(&b, " %s %s v%d %d rows fp %s;", d.Name, d.DatasetID, d.Version, d.RowCount, d.SchemaFingerprint)
			count++
		}
		fmt.Fprintf(&b, " count %d; sql %v", count, s.SQL(t, `SELECT count(*), string_agg(name, ',' ORDER BY id) FROM people`))
		return b.String()
	}
	before := look(s)
	fp := src.SchemaFingerprint
	wantList := fmt.Sprintf("manifest %s v1 3 rows [%s] fp %s; people %s v1 3 rows fp %s; source %s v1 3 rows fp %s; count 2; sql [[3 ann,bob,cy]]",
		datasetID("people"), key, fp, datasetID("people"), fp, datasetID("source"), fp)
	if before != wantList {
		t.Fatalf("catalog:\n got %s\nwant %s", before, wantList)
	}

	s.stop(t)
	s = n.start(t)
	if got := look(s); got != before {
		t.Fatalf("after a restart:\n got %s\nwant %s", got, before)
	}
	s.stop(t)
	// Losing the metadata database loses nothing: the manifest objects in
	// storage are the record, and the catalog rebuilds itself from them.
	metas, _ := filepath.Glob(filepath.Join(n.dataDir(), "meta.duckdb*"))
	if len(metas) == 0 {
		t.Fatalf("no meta.duckdb in %s", n.dataDir())
	}
	for _, p := range metas {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	s = n.start(t)
	if got := look(s); got != before {
		t.Fatalf("rehydrated from storage after the metadata database was deleted:\n got %s\nwant %s", got, before)
	}
}

// TestOneSurface: what one surface ingests the others read at once — the
// CLI ingests through the server, SQL over HTTP sees it; HTTP appends, the
// CLI's query sees the new version with no refresh delay; the previous
// version stays readable as "name@1".
func TestOneSurface(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil)
	s := n.start(t)
	file := filepath.Join(n.dir, "jobs.csv")
	if err := os.WriteFile(file, []byte("job,city,rate\nwelder,Chicago,31.5\npicker,Gary,19\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.cli(t, "ingest", file, "--dataset", "jobs", "--server", s.URL)
	if got := fmt.Sprint(s.SQL(t, `SELECT count(*), sum(rate) FROM jobs`)); got != "[[2 50.5]]" {
		t.Fatalf("HTTP SQL after a CLI ingest: %s", got)
	}
	s.Call(t, "POST", "/v1/ingest?name=jobs&mode=append", csvBody("job,city,rate\nnurse,Chicago,44\n"), 201, nil)
	out := n.cli(t, "query", `SELECT city, count(*) AS n FROM jobs GROUP BY city ORDER BY city`, "--server", s.URL, "--format", "json")
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || fmt.Sprint(res.Rows) != "[[Chicago 2] [Gary 1]]" {
		t.Fatalf("CLI query after an HTTP append: %v %s", err, out)
	}
	if got := fmt.Sprint(s.SQL(t, `SELECT (SELECT count(*) FROM "jobs@1"), (SELECT count(*) FROM jobs)`)); got != "[[2 3]]" {
		t.Fatalf("versions 1 and latest: %s", got)
	}
	var tables struct {
		Tables []string `json:"tables"`
	}
	s.Call(t, "GET", "/v1/sql/tables", nil, 200, &tables)
	if !slices.Equal(tables.Tables, []string{"jobs", "jobs@1", "jobs@2"}) {
		t.Fatalf("/v1/sql/tables: %+v", tables)
	}
}
