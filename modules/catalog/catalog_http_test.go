package catalog_test

import (
	"net/http"
	"reflect"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
)

type manifestResp struct {
	catalog.Manifest
	ObjectKeys []string `json:"object_keys"`
	Existing   *bool    `json:"existing"`
}

type listResp struct {
	Datasets []manifestResp `json:"datasets"`
	Count    int            `json:"count"`
}

// own keeps the datasets the test created: other modules (the observer's
// audit export) may register datasets of their own in the same server.
func (l listResp) own(names ...string) listResp {
	var out listResp
	for _, d := range l.Datasets {
		for _, n := range names {
			if d.Name == n {
				out.Datasets = append(out.Datasets, d)
			}
		}
	}
	out.Count = len(out.Datasets)
	return out
}

var schemaA = []catalog.Column{{Name: "id", Type: "BIGINT"}, {Name: "name", Type: "VARCHAR", Nullable: true}}

// startCatalog serves only storage and catalog, so other modules' writes
// (the observer registers its audit dataset) do not show up in the lists
// these tests compare, and the query module does not try to read the
// placeholder Parquet objects registered here.
func startCatalog(t *testing.T) *apptest.Server {
	t.Helper()
	return apptest.Start(t, func(c *config.Config) { c.Modules = []string{"storage", "catalog"} })
}

func putObject(t *testing.T, s *apptest.Server, key, body string) {
	t.Helper()
	resp, data := s.Do(t, "PUT", "/v1/storage/put/"+key, body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("put %s: %d %s", key, resp.StatusCode, data)
	}
}

// The seed's d3 scenario: register, manifest, list; then rehydrate across
// a restart with identical answers.
func TestRegisterManifestListAndRehydrate(t *testing.T) {
	s := startCatalog(t)
	putObject(t, s, "datasets/people/part-1.parquet", "PAR1-not-really")
	fp := catalog.Fingerprint(schemaA)
	body := map[string]any{
		"name": "people", "schema_fingerprint": fp, "schema": schemaA,
		"files": []map[string]any{{"key": "datasets/people/part-1.parquet", "rows": 2, "sha256": "abc"}},
	}
	var reg manifestResp
	s.JSON(t, "POST", "/v1/catalog/register", body, http.StatusCreated, &reg)
	if reg.Existing == nil || *reg.Existing {
		t.Fatalf("first register: existing = %v", reg.Existing)
	}
	if reg.DatasetID != catalog.DatasetID("people") || reg.Version != 1 || reg.RowCount != 2 {
		t.Fatalf("register answer: %+v", reg)
	}
	if reg.Files[0].Bytes != int64(len("PAR1-not-really")) {
		t.Fatalf("bytes not filled from storage: %+v", reg.Files)
	}
	// Identical content again: same manifest, existing=true, 200, no new version.
	var again manifestResp
	s.JSON(t, "POST", "/v1/catalog/register", body, http.StatusOK, &again)
	if again.Existing == nil || !*again.Existing || again.Version != 1 || again.DatasetID != reg.DatasetID {
		t.Fatalf("re-register: %+v", again)
	}
	// Same name, different fingerprint, no schema change allowed: 409.
	drift := s.Fail(t, "POST", "/v1/catalog/register", map[string]any{
		"name": "people", "schema": []catalog.Column{{Name: "id", Type: "VARCHAR"}, {Name: "age", Type: "BIGINT"}},
		"schema_fingerprint": catalog.Fingerprint([]catalog.Column{{Name: "id", Type: "VARCHAR"}, {Name: "age", Type: "BIGINT"}}),
		"files":              []map[string]any{{"key": "datasets/people/part-1.parquet"}},
	}, http.StatusConflict)
	if drift.Error.Code != "schema_drift" {
		t.Fatalf("drift code %q", drift.Error.Code)
	}
	d := drift.Error.Details
	if !reflect.DeepEqual(d["added"], []any{"age"}) || !reflect.DeepEqual(d["removed"], []any{"name"}) {
		t.Fatalf("drift details: %v", d)
	}
	ch := d["changed"].([]any)[0].(map[string]any)
	if ch["column"] != "id" || ch["from"] != "BIGINT" || ch["to"] != "VARCHAR" {
		t.Fatalf("changed: %v", ch)
	}

	var man manifestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/people", nil, http.StatusOK, &man)
	if man.SchemaFingerprint != fp || !reflect.DeepEqual(man.ObjectKeys, []string{"datasets/people/part-1.parquet"}) {
		t.Fatalf("manifest: %+v", man)
	}
	var list listResp
	s.JSON(t, "GET", "/v1/catalog/list", nil, http.StatusOK, &list)
	list = list.own("people")
	if list.Count != 1 || list.Datasets[0].Name != "people" || list.Datasets[0].DatasetID != reg.DatasetID {
		t.Fatalf("list: %+v", list)
	}

	s2 := s.Restart(t)
	var list2 listResp
	s2.JSON(t, "GET", "/v1/catalog/list", nil, http.StatusOK, &list2)
	list2 = list2.own("people")
	var man2 manifestResp
	s2.JSON(t, "GET", "/v1/catalog/manifest/people", nil, http.StatusOK, &man2)
	if !reflect.DeepEqual(list, list2) || !reflect.DeepEqual(man, man2) {
		t.Fatalf("after restart:\n list %+v\n want %+v\n manifest %+v\n want %+v", list2, list, man2, man)
	}
}

func TestRegisterBadInput(t *testing.T) {
	s := startCatalog(t)
	fp := catalog.Fingerprint(schemaA)
	cases := []struct {
		name string
		body any
		code int
	}{
		{"missing name", map[string]any{"schema_fingerprint": fp}, 400},
		{"missing fingerprint", map[string]any{"name": "x"}, 400},
		{"bad name", map[string]any{"name": "Bad-Name", "schema_fingerprint": fp}, 400},
		{"fingerprint mismatch", map[string]any{"name": "x", "schema_fingerprint": "00", "schema": schemaA}, 400},
		{"missing object", map[string]any{"name": "x", "schema_fingerprint": fp, "object_key": "datasets/x/nope.parquet"}, 400},
		{"traversal key", map[string]any{"name": "x", "schema_fingerprint": fp, "object_key": "../etc/passwd"}, 400},
		{"malformed json", "{", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { s.Fail(t, "POST", "/v1/catalog/register", c.body, c.code) })
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/nope", nil, 404)
	s.Fail(t, "GET", "/v1/catalog/versions/nope", nil, 404)
	s.Fail(t, "DELETE", "/v1/catalog/datasets/nope", nil, 404)
	var list listResp
	s.JSON(t, "GET", "/v1/catalog/list", nil, 200, &list)
	if list = list.own("x", "people"); list.Count != 0 {
		t.Fatalf("bad input registered something: %+v", list)
	}
}

func TestVersionsIdempotencyDelete(t *testing.T) {
	s := startCatalog(t)
	putObject(t, s, "datasets/ev/a.parquet", "a")
	putObject(t, s, "datasets/ev/b.parquet", "bb")
	fp := catalog.Fingerprint(schemaA)
	reg := func(key, idem string, status int) manifestResp {
		var out manifestResp
		s.JSON(t, "POST", "/v1/catalog/register", map[string]any{
			"name": "ev", "schema_fingerprint": fp, "object_key": key, "idempotency_key": idem, "row_count": 1,
		}, status, &out)
		return out
	}
	v1 := reg("datasets/ev/a.parquet", "k1", 201)
	v2 := reg("datasets/ev/b.parquet", "k2", 201)
	if v1.Version != 1 || v2.Version != 2 {
		t.Fatalf("versions %d %d", v1.Version, v2.Version)
	}
	if r := reg("datasets/ev/a.parquet", "k1", 200); r.Version != 1 || !*r.Existing {
		t.Fatalf("idempotent replay: %+v", r)
	}
	e := s.Fail(t, "POST", "/v1/catalog/register", map[string]any{
		"name": "ev", "schema_fingerprint": fp, "object_key": "datasets/ev/b.parquet", "idempotency_key": "k1",
	}, 409)
	if e.Error.Code != "idempotency_conflict" {
		t.Fatalf("code %q", e.Error.Code)
	}
	var vs struct {
		Versions []manifestResp `json:"versions"`
	}
	s.JSON(t, "GET", "/v1/catalog/versions/ev", nil, 200, &vs)
	if len(vs.Versions) != 2 || vs.Versions[0].Version != 1 || vs.Versions[1].Version != 2 {
		t.Fatalf("versions: %+v", vs)
	}
	var old manifestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/ev?version=1", nil, 200, &old)
	if old.Files[0].Key != "datasets/ev/a.parquet" {
		t.Fatalf("version 1: %+v", old)
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/ev?version=9", nil, 404)
	s.Fail(t, "GET", "/v1/catalog/manifest/ev?version=x", nil, 400)

	s.JSON(t, "DELETE", "/v1/catalog/datasets/ev", nil, 200, nil)
	s.Fail(t, "GET", "/v1/catalog/manifest/ev", nil, 404)
	var list listResp
	s.JSON(t, "GET", "/v1/catalog/list", nil, 200, &list)
	if list = list.own("ev"); list.Count != 0 {
		t.Fatalf("deleted dataset listed: %+v", list)
	}
	// Deleted stays deleted across restart; re-registering revives it
	// with the next version number.
	s2 := s.Restart(t)
	s2.Fail(t, "GET", "/v1/catalog/manifest/ev", nil, 404)
	var v3 manifestResp
	s2.JSON(t, "POST", "/v1/catalog/register", map[string]any{
		"name": "ev", "schema_fingerprint": fp, "object_key": "datasets/ev/a.parquet",
	}, 201, &v3)
	if v3.Version != 3 || v3.DatasetID != v1.DatasetID {
		t.Fatalf("revived: %+v", v3)
	}
}
