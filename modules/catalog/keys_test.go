package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lakehouse/modules/catalog"
)

// TestKeysAndForeignKeys: a dataset declares a key and foreign keys; the
// referenced dataset lists who references it; bad declarations answer
// 400 naming the problem; an ingest key shows until one is declared;
// keys survive a restart and a rebuild from the bucket, and go with a
// deleted dataset.
func TestKeysAndForeignKeys(t *testing.T) {
	s := startLake(t)
	ingestCSV(t, s, "name=people", "person_id,name\np1,Ada\np2,Bo\n", 201)
	ingestCSV(t, s, "name=calls", "call_id,person_id,minutes\nc1,p1,3\nc2,p1,4\nc3,p2,1\n", 201)
	ingestCSV(t, s, "name=orders&mode=upsert&key=order_id", "order_id,person_id\no1,p2\n", 201)

	var info catalog.KeysInfo
	s.JSON(t, "GET", "/v1/catalog/keys/orders", nil, 200, &info)
	if !slices.Equal(info.Key, []string{"order_id"}) || info.KeySource != "ingest" {
		t.Fatalf("ingest key: %+v", info)
	}
	s.JSON(t, "GET", "/v1/catalog/keys/people", nil, 200, &info)
	if len(info.Key) != 0 || info.KeySource != "" || len(info.ReferencedBy) != 0 {
		t.Fatalf("no key yet: %+v", info)
	}
	// A foreign key to a dataset without a key must name its columns.
	e := s.Fail(t, "PUT", "/v1/catalog/keys/calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id"}, "references": "people"}}}, 400)
	if !strings.Contains(e.Error.Message, "declares no key") {
		t.Fatalf("no key to reference: %+v", e.Error)
	}
	s.JSON(t, "PUT", "/v1/catalog/keys/people", map[string]any{"key": []string{"person_id"}}, 200, &info)
	if info.KeySource != "declared" {
		t.Fatalf("declared: %+v", info)
	}
	s.JSON(t, "PUT", "/v1/catalog/keys/calls", map[string]any{"key": []string{"call_id"},
		"foreign_keys": []map[string]any{{"columns": []string{"person_id"}, "references": "people"}}}, 200, &info)
	if len(info.ForeignKeys) != 1 || !slices.Equal(info.ForeignKeys[0].RefColumns, []string{"person_id"}) {
		t.Fatalf("ref_columns default to the referenced key: %+v", info)
	}
	s.JSON(t, "PUT", "/v1/catalog/keys/orders", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id"}, "references": "people", "ref_columns": []string{"person_id"}}}}, 200, nil)
	s.JSON(t, "GET", "/v1/catalog/keys/people", nil, 200, &info)
	if got := []string{info.ReferencedBy[0].Dataset, info.ReferencedBy[1].Dataset}; len(info.ReferencedBy) != 2 || !slices.Equal(got, []string{"calls", "orders"}) {
		t.Fatalf("referenced_by: %+v", info.ReferencedBy)
	}
	// Leaving a field out keeps it: the key stays when only FKs change.
	s.JSON(t, "GET", "/v1/catalog/keys/calls", nil, 200, &info)
	if !slices.Equal(info.Key, []string{"call_id"}) {
		t.Fatalf("key kept: %+v", info)
	}
	for _, bad := range []struct {
		name string
		body any
		want string
	}{
		{"people", map[string]any{}, "give key"},
		{"people", map[string]any{"key": []string{"nope"}}, `no column "nope"`},
		{"people", map[string]any{"key": []string{"name", "name"}}, "named twice"},
		{"people", map[string]any{"keys": []string{"name"}}, "keys"},
		{"calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id"}, "references": "ghosts"}}}, `"ghosts" is not a dataset`},
		{"calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id"}}}}, "references: the referenced dataset is required"},
		{"calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{}, "references": "people"}}}, "at least one column"},
		{"calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id", "minutes"}, "references": "people"}}}, "2 columns reference 1"},
		{"calls", map[string]any{"foreign_keys": []map[string]any{{"columns": []string{"person_id"}, "references": "people", "ref_columns": []string{"age"}}}}, `"people" has no column "age"`},
	} {
		e := s.Fail(t, "PUT", "/v1/catalog/keys/"+bad.name, bad.body, 400)
		if !strings.Contains(e.Error.Message, bad.want) {
			t.Errorf("%v: %q does not say %q", bad.body, e.Error.Message, bad.want)
		}
	}
	s.Fail(t, "PUT", "/v1/catalog/keys/ghosts", map[string]any{"key": []string{"id"}}, 404)
	s.Fail(t, "GET", "/v1/catalog/keys/ghosts", nil, 404)

	var all struct {
		Datasets []catalog.KeysInfo `json:"datasets"`
	}
	s.JSON(t, "GET", "/v1/catalog/keys", nil, 200, &all)
	if len(all.Datasets) != 3 {
		t.Fatalf("all keys: %+v", all)
	}

	// A restart, then a rebuild from the bucket alone, keep them.
	s = s.Restart(t)
	s.JSON(t, "GET", "/v1/catalog/keys/people", nil, 200, &info)
	if len(info.ReferencedBy) != 2 || info.KeySource != "declared" {
		t.Fatalf("after restart: %+v", info)
	}
	s.Stop(t)
	if err := os.Remove(filepath.Join(s.DataDir, "meta.duckdb")); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(s.DataDir, "meta.duckdb.wal"))
	s = s.Restart(t)
	s.JSON(t, "GET", "/v1/catalog/keys/calls", nil, 200, &info)
	if !slices.Equal(info.Key, []string{"call_id"}) || len(info.ForeignKeys) != 1 || info.ForeignKeys[0].References != "people" {
		t.Fatalf("after rebuild: %+v", info)
	}
	// Settings and keys are one record: changing retention keeps the keys.
	s.JSON(t, "PUT", "/v1/catalog/retention/calls", map[string]any{"keep_versions": 3}, 200, nil)
	s.JSON(t, "GET", "/v1/catalog/keys/calls", nil, 200, &info)
	if len(info.ForeignKeys) != 1 {
		t.Fatalf("retention dropped the keys: %+v", info)
	}
	// Dropping: [] clears the declared key and the foreign keys.
	s.JSON(t, "PUT", "/v1/catalog/keys/orders", map[string]any{"key": []string{}, "foreign_keys": []any{}}, 200, &info)
	if info.KeySource != "ingest" || len(info.ForeignKeys) != 0 {
		t.Fatalf("dropped: %+v", info)
	}
	// A deleted dataset's foreign keys no longer reference anything.
	s.JSON(t, "DELETE", "/v1/catalog/datasets/calls", nil, 200, nil)
	s.JSON(t, "GET", "/v1/catalog/keys/people", nil, 200, &info)
	if len(info.ReferencedBy) != 0 {
		t.Fatalf("after delete: %+v", info.ReferencedBy)
	}
}
