package apptest_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/kit"
)

// principals of the authorization tests: name → role, grants, token.
var principals = []struct {
	name, role, token string
	datasets          []string
}{
	{"rita", "reader", "tok-reader", nil},
	{"anna", "analyst", "tok-analyst", nil},
	{"walt", "writer", "tok-writer", nil},
	{"ada", "admin", "tok-admin", nil},
	{"lim-reader", "reader", "tok-lim-reader", []string{"granted*"}},
	{"lim-writer", "writer", "tok-lim-writer", []string{"granted*"}},
}

// startAuthz boots a server with the test principals and two datasets,
// granted_a and secret (the latter holding a value no limited principal
// may ever see).
func startAuthz(t *testing.T) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, func(c *config.Config) {
		for _, p := range principals {
			c.Auth.Principals = append(c.Auth.Principals, config.PrincipalConfig{
				Name: p.name, Role: p.role, Datasets: p.datasets, TokenSHA256: kit.TokenHash(p.token)})
		}
	})
	ingest := func(name, csv string) {
		resp, data := s.DoHeader(t, "POST", "/v1/ingest?name="+name, csv, http.Header{"Content-Type": {"text/csv"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("ingest %s: %d %s", name, resp.StatusCode, data)
		}
	}
	ingest("granted_a", "id,city\n1,Chicago\n2,Denver\n")
	ingest("secret", "id,email\n1,hidden.person@example.com\n")
	ingest("secret", "id,email\n2,second.hidden@example.com\n")
	return s
}

// operation is one route of /openapi.json with the permission it declares.
type operation struct {
	method, path, role, datasetParam string
}

func operations(t *testing.T, s *apptest.Server) []operation {
	t.Helper()
	resp, data := s.Do(t, "GET", "/openapi.json", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("openapi: %d", resp.StatusCode)
	}
	var doc struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for p, methods := range doc.Paths {
		for m, op := range methods {
			role, _ := op["x-lakehouse-role"].(string)
			ds, _ := op["x-lakehouse-dataset-param"].(string)
			ops = append(ops, operation{strings.ToUpper(m), p, role, ds})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

var roleRank = map[string]int{"reader": 1, "analyst": 2, "writer": 3, "admin": 4}

// fill puts values into a route template: the dataset parameter gets
// dataset, every other parameter a harmless name.
func fill(op operation, dataset string) string {
	out := op.path
	for {
		i := strings.IndexByte(out, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(out[i:], '}') + i
		name, val := out[i+1:j], "zz_none"
		if name == op.datasetParam {
			val = dataset
		}
		out = out[:i] + val + out[j+1:]
	}
	if op.datasetParam != "" && !strings.Contains(op.path, "{"+op.datasetParam+"}") {
		out += "?" + op.datasetParam + "=" + dataset
	}
	return out
}

// TestRoleRouteMatrix: every route of the real server declares a role,
// and every principal × every route is answered by that declaration: a
// role below it gets 403 naming what is needed, a role at or above it is
// never refused for its role; a route about one dataset answers a
// principal without the grant exactly as for a dataset that does not
// exist. Writes are sent with an empty body, so an allowed call fails its
// own validation instead of changing anything.
func TestRoleRouteMatrix(t *testing.T) {
	s := startAuthz(t)
	ops := operations(t, s)
	if len(ops) < 80 {
		t.Fatalf("only %d operations in /openapi.json", len(ops))
	}
	checked := 0
	for _, op := range ops {
		// Open by design: liveness, the API's description, logging in, and
		// the UI's static files (they hold no data; the UI's calls go
		// through the gated routes).
		if op.path == "/health" || op.path == "/openapi.json" || strings.HasPrefix(op.path, "/v1/session") ||
			op.path == "/" || strings.HasPrefix(op.path, "/ui/") {
			if op.role != "" {
				t.Errorf("%s %s is open by design but declares %q", op.method, op.path, op.role)
			}
			continue
		}
		if op.role == "" {
			t.Errorf("%s %s declares no role", op.method, op.path)
			continue
		}
		if op.method == "CONNECT" || op.method == "TRACE" {
			continue // the Go client does not send these to a path
		}
		for _, p := range principals {
			as := s.As(p.token)
			path := fill(op, "granted_a")
			resp, data := as.Do(t, op.method, path, "{}")
			denied := resp.StatusCode == 403 && (strings.Contains(string(data), "needs "+op.role) || op.method == "HEAD")
			if roleRank[p.role] < roleRank[op.role] {
				if !denied {
					t.Errorf("%s (%s) %s %s: %d %.200s, want 403 needing %s", p.name, p.role, op.method, path, resp.StatusCode, data, op.role)
				}
				continue
			}
			if denied || resp.StatusCode == 401 {
				t.Errorf("%s (%s) %s %s refused: %d %.200s", p.name, p.role, op.method, path, resp.StatusCode, data)
			}
			checked++
			if op.datasetParam == "" || p.datasets == nil {
				continue
			}
			// Without the grant: the same answer as a dataset nobody has.
			secret, sdata := as.Do(t, op.method, fill(op, "secret"), "{}")
			ghost, gdata := as.Do(t, op.method, fill(op, "zz_no_such_dataset"), "{}")
			if secret.StatusCode != 404 || ghost.StatusCode != 404 ||
				strings.Replace(errMessage(sdata), "secret", "X", 1) != strings.Replace(errMessage(gdata), "zz_no_such_dataset", "X", 1) {
				t.Errorf("%s %s %s: ungranted %d %s vs missing %d %s", p.name, op.method, op.path, secret.StatusCode, sdata, ghost.StatusCode, gdata)
			}
		}
	}
	if checked < 200 {
		t.Errorf("only %d allowed calls checked", checked)
	}
	t.Logf("%d operations × %d principals; %d allowed calls checked", len(ops), len(principals), checked)
	// A write refused for the caller's role is on the audit trail, under
	// the caller's name.
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	s.JSON(t, "GET", "/v1/observer/events?source=audit&limit=2000", nil, 200, &evs)
	refused := false
	for _, ev := range evs.Events {
		if ev["principal"] == "rita" && ev["status"] == float64(403) && ev["route"] == "/v1/ingest" {
			refused = true
		}
	}
	if !refused {
		t.Error("no audit row for the reader's refused ingest")
	}
	// The secret dataset survived every call (no write got through).
	var ans apptest.SQLAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM secret"}, 200, &ans)
	if len(ans.Rows) != 1 || ans.Rows[0][0] != float64(2) {
		t.Fatalf("secret after the matrix: %v", ans.Rows)
	}
}

func errMessage(body []byte) string {
	var e apptest.ErrorBody
	_ = json.Unmarshal(body, &e)
	return e.Error.Code + ": " + e.Error.Message
}

// TestGrantsHoldInSQLAndEveryList: a principal granted granted* reads
// granted_a, and finds secret an unknown table or a refused statement
// whichever way SQL reaches for it; no list (catalog, SQL tables,
// Iceberg, events) names it; the answers never carry its values.
func TestGrantsHoldInSQLAndEveryList(t *testing.T) {
	s := startAuthz(t)
	lim := s.As("tok-lim-reader")
	var ans apptest.SQLAnswer
	lim.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "WITH t AS (SELECT * FROM granted_a) SELECT count(*) FROM t"}, 200, &ans)
	if ans.Rows[0][0] != float64(2) {
		t.Fatalf("granted dataset: %v", ans.Rows)
	}
	lim.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT city FROM \"granted_a@1\" ORDER BY id LIMIT 1"}, 200, &ans)
	escapes := []string{
		"SELECT * FROM secret",
		"SELECT * FROM main.secret",
		"SELECT * FROM memory.main.secret",
		"SELECT * FROM granted_a JOIN secret USING (id)",
		"SELECT * FROM granted_a WHERE id IN (SELECT id FROM secret)",
		"SELECT (SELECT max(email) FROM secret)",
		`SELECT * FROM "secret@1"`,
		`SELECT * FROM "secret@1..2"`,
		`SELECT * FROM "secret@1.."`,
		"DESCRIBE secret",
		"SUMMARIZE secret",
		"EXPLAIN SELECT * FROM secret",
		"EXPLAIN ANALYZE SELECT * FROM secret",
		"SHOW TABLES",
		"SHOW ALL TABLES",
		"SELECT * FROM duckdb_tables()",
		"SELECT * FROM duckdb_tables",
		"SELECT sql FROM duckdb_views()",
		"SELECT * FROM duckdb_columns()",
		"SELECT * FROM information_schema.tables",
		"SELECT * FROM information_schema.columns",
		"SELECT * FROM pg_catalog.pg_tables",
		"SELECT * FROM pg_tables",
		"SELECT * FROM sqlite_master",
		"SELECT * FROM pragma_table_info('secret')",
		"PRAGMA table_info('secret')",
		"SELECT * FROM query_table('secret')",
		"SELECT * FROM query('SELECT * FROM secret')",
		"SELECT * FROM query_table(['secret'])",
		"SELECT * FROM read_parquet('**/*.parquet')",
		"SELECT * FROM parquet_scan('objects/**/*.parquet')",
		"SELECT * FROM 'objects/datasets/secret/*.parquet'",
		"SELECT * FROM glob('**')",
		"SELECT * FROM sql_auto_complete('SELECT * FROM sec')",
		"SELECT json_execute_serialized_sql(json_serialize_sql('SELECT * FROM secret'))",
		"WITH secret AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM secret), main.secret",
		"SELECT * FROM (WITH secret AS (SELECT 1 AS x) SELECT * FROM secret) a, secret",
		"FROM secret",
		"TABLE secret",
	}
	for _, q := range escapes {
		resp, data := lim.Do(t, "POST", "/v1/sql", map[string]any{"sql": q})
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || strings.Contains(string(data), "hidden") ||
			strings.Contains(string(data), "second.hidden") {
			t.Errorf("%q: %d %.300s", q, resp.StatusCode, data)
		}
	}
	// The same statements still run for a principal with every dataset.
	s.As("tok-reader").JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM granted_a JOIN secret USING (id)"}, 200, &ans)

	// Saved queries naming secret are not there for the limited reader.
	s.JSON(t, "PUT", "/v1/workbench/queries/secret-q", map[string]any{"name": "secret emails", "sql": "SELECT email FROM secret"}, 201, nil)
	s.JSON(t, "PUT", "/v1/workbench/queries/open-q", map[string]any{"name": "cities", "sql": "SELECT city FROM granted_a"}, 201, nil)
	for _, path := range []string{"/v1/workbench/queries/secret-q", "/v1/workbench/queries/secret-q/versions", "/v1/workbench/queries/secret-q/run"} {
		if resp, data := lim.Do(t, "GET", path, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s as a limited reader: %d %.200s", path, resp.StatusCode, data)
		}
	}
	lim.JSON(t, "GET", "/v1/workbench/queries/open-q/run", nil, 200, nil)

	// Indexes holding secret's rows: one built from it, one made by hand
	// and then filled from it; neither is there for the limited reader.
	s.JSON(t, "POST", "/v1/vectors/index/secret_idx/from-dataset", map[string]any{"dataset": "secret", "id_column": "id", "text_columns": []string{"email"}}, 200, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "hand_idx", "metric": "cosine", "model": "use-lite-512"}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index/hand_idx/from-dataset", map[string]any{"dataset": "secret", "id_column": "id", "text_columns": []string{"email"}}, 200, nil)
	for _, idx := range []string{"secret_idx", "hand_idx"} {
		if resp, data := lim.Do(t, "POST", "/v1/vectors/index/"+idx+"/search", map[string]any{"text": "hidden", "k": 5}); resp.StatusCode != 404 {
			t.Errorf("search %s as a limited reader: %d %.200s", idx, resp.StatusCode, data)
		}
	}

	// Lists: nothing names secret.
	for _, path := range []string{"/v1/catalog/list", "/v1/sql/tables", "/iceberg/v1/namespaces/default/tables",
		"/v1/vectors/index", "/v1/observer/events?limit=1000", "/v1/workbench/queries", "/v1/catalog/keys"} {
		resp, data := lim.Do(t, "GET", path, nil)
		if strings.HasPrefix(path, "/v1/observer/events") {
			// Its own events only (which name what it asked for itself).
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			_ = json.Unmarshal(data, &evs)
			for _, ev := range evs.Events {
				if ev["principal"] != "lim-reader" {
					t.Errorf("a limited reader sees another principal's event: %v", ev)
				}
			}
			continue
		}
		if resp.StatusCode != 200 || strings.Contains(string(data), "secret") {
			t.Errorf("GET %s as a limited reader: %d %.400s", path, resp.StatusCode, data)
		}
		if path == "/v1/catalog/list" && !strings.Contains(string(data), "granted_a") {
			t.Errorf("GET %s lost the granted dataset: %.300s", path, data)
		}
	}
	// Iceberg: the table is not found, the granted one loads.
	if resp, data := lim.Do(t, "GET", "/iceberg/v1/namespaces/default/tables/secret", nil); resp.StatusCode != 404 {
		t.Errorf("iceberg LoadTable secret: %d %.200s", resp.StatusCode, data)
	}
	if resp, data := lim.Do(t, "GET", "/iceberg/v1/namespaces/default/tables/granted_a", nil); resp.StatusCode != 200 {
		t.Errorf("iceberg LoadTable granted_a: %d %.200s", resp.StatusCode, data)
	}
	// The change feed route and writes to it follow the grant too.
	lw := s.As("tok-lim-writer")
	if resp, data := lw.DoHeader(t, "POST", "/v1/ingest?name=secret&mode=append", "id,email\n9,x@y\n", http.Header{"Content-Type": {"text/csv"}}); resp.StatusCode != 404 {
		t.Errorf("limited writer appends to secret: %d %.200s", resp.StatusCode, data)
	}
	if resp, data := lw.DoHeader(t, "POST", "/v1/ingest?name=granted_b", "id\n1\n", http.Header{"Content-Type": {"text/csv"}}); resp.StatusCode != 201 {
		t.Errorf("limited writer creates granted_b: %d %.200s", resp.StatusCode, data)
	}
}
