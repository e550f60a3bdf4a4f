package ingest_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/modules/catalog"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

const typedCSV = "\xEF\xBB\xBFid,name,score,active,born,seen,note\r\n" +
	"1,Ada,1.5,true,1990-01-02,2024-05-06T07:08:09Z,plain\r\n" +
	"2,\"Lovelace, Ada\",2,false,2000-02-29,2024-05-06 07:08:09.123456,\"multi\nline \"\"quoted\"\"\"\r\n" +
	"3,,,,,,\r\n" +
	"4,\"\",-3e2,TRUE,1970-01-01,2024-05-06T09:08:09+02:00,x\r\n"

// The seed's d4 scenario: CSV → Parquet round trip read back with DuckDB.
func TestCSVRoundTripThroughDuckDB(t *testing.T) {
	s := apptest.Start(t)
	out := postCSV(t, s, "name=people", typedCSV, 201)
	if *out.Existing || out.Version != 1 || out.RowCount != 4 || len(out.Files) != 1 {
		t.Fatalf("ingest answer: %+v", out)
	}
	wantSchema := []string{"id BIGINT", "name VARCHAR", "score DOUBLE", "active BOOLEAN", "born DATE", "seen TIMESTAMP", "note VARCHAR"}
	var got []string
	for _, c := range out.Schema {
		got = append(got, c.Name+" "+c.Type)
	}
	if !reflect.DeepEqual(got, wantSchema) {
		t.Fatalf("schema %v\nwant %v", got, wantSchema)
	}
	if out.SchemaFingerprint != catalog.Fingerprint(out.Schema) || out.DatasetID != catalog.DatasetID("people") {
		t.Fatalf("fingerprint/id: %+v", out)
	}
	rows := duckRows(t, s, out.Manifest, `SELECT id, name, score, active, born::VARCHAR, strftime(seen, '%Y-%m-%d %H:%M:%S.%f'), note FROM t ORDER BY id`)
	want := [][]string{
		{"1", "Ada", "1.5", "true", "1990-01-02", "2024-05-06 07:08:09.000000", "plain"},
		{"2", "Lovelace, Ada", "2", "false", "2000-02-29", "2024-05-06 07:08:09.123456", "multi\nline \"quoted\""},
		{"3", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
		{"4", "", "-300", "true", "1970-01-01", "2024-05-06 07:08:09.000000", "x"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("read back:\n%q\nwant\n%q", rows, want)
	}
	// Re-ingesting the same CSV is an idempotent replay: 200, same version.
	again := postCSV(t, s, "name=people", typedCSV, 200)
	if !*again.Existing || again.Version != 1 {
		t.Fatalf("replay: %+v", again)
	}
	// Raw text/csv body works too; replace makes version 2.
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=people&mode=replace", "id,name\n1,x\n", map[string][]string{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 201 {
		t.Fatalf("raw replace: %d %s", resp.StatusCode, data)
	}
	var man ingestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/people", nil, 200, &man)
	if man.Version != 2 || len(man.Schema) != 2 || man.RowCount != 1 {
		t.Fatalf("after replace: %+v", man)
	}
}

// The seed's d4 drift scenario: a different schema into an existing
// dataset is 409 with the column diff, and nothing changes.
func TestSchemaDrift409(t *testing.T) {
	s := apptest.Start(t)
	v1 := postCSV(t, s, "name=emp", "id,name,salary\n1,a,10\n2,b,20\n", 201)
	e := ingestFail(t, s, "name=emp", "id,salary,dept\nx1,10.5,eng\n", 409)
	if e.Error.Code != "schema_drift" {
		t.Fatalf("code %s", e.Error.Code)
	}
	d := e.Error.Details
	if !reflect.DeepEqual(d["added"], []any{"dept"}) || !reflect.DeepEqual(d["removed"], []any{"name"}) {
		t.Fatalf("details %v", d)
	}
	changed := d["changed"].([]any)
	if len(changed) != 2 {
		t.Fatalf("changed %v", changed)
	}
	c0 := changed[0].(map[string]any)
	if c0["column"] != "id" || c0["from"] != "BIGINT" || c0["to"] != "VARCHAR" {
		t.Fatalf("changed[0] %v", c0)
	}
	var man ingestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/emp", nil, 200, &man)
	if man.Version != 1 || !reflect.DeepEqual(man.Files, v1.Files) {
		t.Fatalf("drift changed the dataset: %+v", man)
	}
	// Append with a compatible file: ints into the BIGINT/… columns.
	v2 := postCSV(t, s, "name=emp&mode=append", "id,name,salary\n3,c,30\n", 201)
	if v2.Version != 2 || len(v2.Files) != 2 || v2.RowCount != 3 || v2.Files[0] != v1.Files[0] {
		t.Fatalf("append: %+v", v2)
	}
	rows := duckRows(t, s, v2.Manifest, "SELECT count(*), sum(salary)::VARCHAR FROM t")
	if rows[0][0] != "3" || rows[0][1] != "60" {
		t.Fatalf("appended rows: %v", rows)
	}
	// replace accepts the new schema.
	v3 := postCSV(t, s, "name=emp&mode=replace", "id,salary,dept\nx1,10.5,eng\n", 201)
	if v3.Version != 3 || len(v3.Files) != 1 {
		t.Fatalf("replace: %+v", v3)
	}
	_ = apptest.Token
}

func TestIdempotencyKeyFormFieldsAndConcurrentAppends(t *testing.T) {
	s := apptest.Start(t)
	// name, mode and idempotency_key as multipart fields before the file.
	body, ct := multipartBody(t, "id;v\n1;a\n", map[string]string{"name": "ik", "idempotency_key": "load-1", "delimiter": ";"})
	resp, data := s.DoHeader(t, "POST", "/v1/ingest", body, map[string][]string{"Content-Type": {ct}})
	if resp.StatusCode != 201 {
		t.Fatalf("form fields: %d %s", resp.StatusCode, data)
	}
	var first ingestResp
	_ = jsonUnmarshal(data, &first)
	if first.IdempotencyKey != "load-1" || len(first.Schema) != 2 {
		t.Fatalf("first: %+v", first)
	}
	// Same key, same content: 200 replay. Same key, other content: 409.
	r2 := postCSV(t, s, "name=ik&idempotency_key=load-1&delimiter=%3B", "id;v\n1;a\n", 200)
	if r2.Version != 1 || !*r2.Existing {
		t.Fatalf("replay: %+v", r2)
	}
	e := ingestFail(t, s, "name=ik&idempotency_key=load-1", "id,v\n2,b\n", 409)
	if e.Error.Code != "idempotency_conflict" {
		t.Fatalf("code %s", e.Error.Code)
	}
	// Concurrent appends into one dataset: each lands, none is lost (those
	// that queue behind one commit share the next version: group commit).
	const n = 4
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=ik&mode=append", fmt.Sprintf("id,v\n%d,x%d\n", 100+i, i), map[string][]string{"Content-Type": {"text/csv"}})
			if resp.StatusCode != 201 {
				errs <- fmt.Sprintf("%d %s", resp.StatusCode, data)
				return
			}
			errs <- ""
		}(i)
	}
	for i := 0; i < n; i++ {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	var man ingestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/ik", nil, 200, &man)
	if man.Version < 2 || man.Version > 1+n || man.RowCount != 1+n || len(man.Files) != 1+n {
		t.Fatalf("after concurrent appends: v%d rows %d files %d", man.Version, man.RowCount, len(man.Files))
	}
}
