package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// insertLegacy writes a dataset straight into the metadata database, as a
// catalog written before register validated its input may hold it.
func insertLegacy(t *testing.T, st *catalog.Store, m catalog.Manifest) {
	t.Helper()
	ctx := context.Background()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	db := st.MetaDB()
	now := time.Now().UTC()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO datasets (name, dataset_id, latest_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			[]any{m.Name, catalog.DatasetID(m.Name), m.Version, now, now}},
		{`INSERT INTO dataset_versions (name, version, schema_fingerprint, content_hash, row_count, created_at, manifest) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			[]any{m.Name, m.Version, m.SchemaFingerprint, "legacy", m.RowCount, now, string(raw)}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range m.Files {
		if _, err := db.ExecContext(ctx, `INSERT INTO dataset_files (name, version, key, bytes, rows, sha256) VALUES (?, ?, ?, ?, ?, ?)`,
			m.Name, m.Version, f.Key, f.Bytes, f.Rows, f.SHA256); err != nil {
			t.Fatal(err)
		}
	}
}

// gc deletes only dataset parts: a dataset whose files (registered before
// register checked keys) point at a vector index is purged without
// touching the index.
func TestGCDeletesOnlyUnderDatasets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, objs := openStore(t, dir)
	put(t, objs, "_vectors/idx/snapshot", "index")
	put(t, objs, "datasets/legacy/p.parquet", "part")
	put(t, objs, "datasets/legacy/metadata/v1.json", "{}")
	schema := []catalog.Column{{Name: "id", Type: "BIGINT"}}
	insertLegacy(t, st, catalog.Manifest{
		Name: "legacy", Version: 1, Schema: schema, SchemaFingerprint: catalog.Fingerprint(schema),
		Files: []catalog.File{{Key: "_vectors/idx/snapshot", Bytes: 5}, {Key: "datasets/legacy/p.parquet", Bytes: 4}},
	})
	st.Close()
	st, objs = openStore(t, dir)
	if err := st.Delete(ctx, "legacy"); err != nil {
		t.Fatal(err)
	}
	rep, err := st.GC(ctx, catalog.GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objs.Stat(ctx, "_vectors/idx/snapshot"); err != nil {
		t.Fatalf("gc deleted the vector index: %v (report %+v)", err, rep)
	}
	if _, err := objs.Stat(ctx, "datasets/legacy/metadata/v1.json"); err != nil {
		t.Fatalf("gc deleted catalog metadata: %v", err)
	}
	if _, err := objs.Stat(ctx, "datasets/legacy/p.parquet"); !storage.IsNotFound(err) {
		t.Fatalf("gc kept the dataset's part: %v", err)
	}
	if !slices.Equal(rep.RemovedKeys, []string{"datasets/legacy/p.parquet"}) || !slices.Equal(rep.OutsideKeys, []string{"_vectors/idx/snapshot"}) {
		t.Fatalf("report: removed %v, outside %v", rep.RemovedKeys, rep.OutsideKeys)
	}
}

// Register refuses control characters in column names and any type that
// is not a DuckDB type, naming the column; valid nested types pass.
func TestRegisterValidatesColumns(t *testing.T) {
	s := startCatalog(t)
	putObject(t, s, "datasets/t/p.parquet", "x")
	reg := func(cols []catalog.Column, want int) apptest.ErrorBody {
		body := map[string]any{"name": "t", "schema": cols, "schema_fingerprint": catalog.Fingerprint(cols),
			"object_keys": []string{"datasets/t/p.parquet"}, "allow_schema_change": true}
		if want >= 400 {
			return s.Fail(t, "POST", "/v1/catalog/register", body, want)
		}
		s.JSON(t, "POST", "/v1/catalog/register", body, want, nil)
		return apptest.ErrorBody{}
	}
	e := reg([]catalog.Column{{Name: "id", Type: "BIGINT"}, {Name: "na\x00me", Type: "VARCHAR"}}, http.StatusBadRequest)
	if !strings.Contains(e.Error.Message, "schema column 2") || !strings.Contains(e.Error.Message, "control character") {
		t.Errorf("NUL name: %q", e.Error.Message)
	}
	inj := "INTEGER) AS x, (SELECT 42) AS injected, CAST(NULL AS INTEGER"
	e = reg([]catalog.Column{{Name: "id", Type: "BIGINT"}, {Name: "v", Type: inj}}, http.StatusBadRequest)
	if !strings.Contains(e.Error.Message, `schema column 2 ("v")`) || !strings.Contains(e.Error.Message, inj) {
		t.Errorf("injected type: %q", e.Error.Message)
	}
	reg([]catalog.Column{
		{Name: "id", Type: "BIGINT"}, {Name: "amount", Type: "DECIMAL(18,3)"}, {Name: "at", Type: "TIMESTAMP WITH TIME ZONE"},
		{Name: "tags", Type: "VARCHAR[]"}, {Name: "attrs", Type: "MAP(VARCHAR, STRUCT(a INTEGER, \"b c\" DOUBLE[]))"},
	}, http.StatusCreated)
	s.Fail(t, "GET", "/v1/catalog/manifest/never", nil, http.StatusNotFound)
}

// A catalog that holds an injected type from before register checked
// types still starts, the type reads as VARCHAR, and the SQL view is
// built from nothing but the dataset's own column.
func TestInjectedTypeOnDiskIsNeutralized(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"storage", "catalog", "query"} })
	s.Stop(t)
	st, _ := openStore(t, s.DataDir)
	inj := "INTEGER) AS x, (SELECT 42) AS injected, CAST(NULL AS INTEGER"
	schema := []catalog.Column{{Name: "col", Type: inj}}
	insertLegacy(t, st, catalog.Manifest{Name: "legacy", Version: 1, Schema: schema, SchemaFingerprint: catalog.Fingerprint(schema), Files: []catalog.File{}})
	st.Close()

	s2 := s.Restart(t)
	var man manifestResp
	s2.JSON(t, "GET", "/v1/catalog/manifest/legacy", nil, http.StatusOK, &man)
	if len(man.Schema) != 1 || man.Schema[0].Type != "VARCHAR" {
		t.Fatalf("schema served: %+v", man.Schema)
	}
	var out struct {
		Columns []struct{ Name string } `json:"columns"`
	}
	s2.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT * FROM legacy"}, http.StatusOK, &out)
	var names []string
	for _, c := range out.Columns {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"col"}) {
		t.Fatalf("view columns %v, want [col]", names)
	}
}
