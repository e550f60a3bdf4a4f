package workbench_test

import (
	"net/http"
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

type savedQuery struct {
	ID, Name, SQL string
	Version       int
	Created       string `json:"created_by"`
	Updated       string `json:"updated_by"`
	Changed       bool
}

// TestSavedQueriesCannotBeLost: a query that does not plan is refused
// (400 naming the problem) and the stored one stays; every save is a
// version with its owner and time; a save built on an older version, or
// a create over an existing query, is a 409; any version (also of a
// deleted query) can be restored; a saved query runs at a stable address
// as JSON or CSV with its parameters, through POST /v1/sql.
func TestSavedQueriesCannotBeLost(t *testing.T) {
	s := apptest.Start(t)
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=people", "id,name,city,rate\n1,Ada,Chicago,20\n2,Bo,Denver,30\n3,Cy,Chicago,25\n"); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	base := func(v int) *int { return &v }
	put := func(sql string, bv *int, status int) savedQuery {
		t.Helper()
		body := map[string]any{"name": "People in a city", "sql": sql,
			"params": []map[string]any{{"name": "city", "default": "Chicago"}, {"name": "max_rate", "type": "number"}}}
		if bv != nil {
			body["base_version"] = *bv
		}
		var out savedQuery
		if status >= 400 {
			e := s.Fail(t, "PUT", "/v1/workbench/queries/people-in", body, status)
			out.Name = e.Error.Code + ": " + e.Error.Message
			return out
		}
		s.JSON(t, "PUT", "/v1/workbench/queries/people-in", body, status, &out)
		return out
	}
	v1SQL := "SELECT name FROM people WHERE city = $1 AND rate <= coalesce($2, 1e9) ORDER BY name"
	if e := put("SELECT name FROM nope WHERE city = $1 AND $2 IS NULL", base(0), 400); !strings.Contains(e.Name, "invalid_query") || !strings.Contains(e.Name, "nope") {
		t.Fatalf("unplannable: %s", e.Name)
	}
	s.Fail(t, "GET", "/v1/workbench/queries/people-in", nil, 404)
	q := put(v1SQL, base(0), 201)
	if q.Version != 1 || q.Created == "" || q.Updated != q.Created {
		t.Fatalf("created: %+v", q)
	}
	if e := put(v1SQL, base(0), 409); !strings.Contains(e.Name, "query_exists") {
		t.Fatalf("create over an existing one: %s", e.Name)
	}
	v2SQL := "SELECT name, rate FROM people WHERE city = $1 AND rate <= coalesce($2, 1e9) ORDER BY name"
	if q = put(v2SQL, base(1), 200); q.Version != 2 {
		t.Fatalf("v2: %+v", q)
	}
	// A colleague still on version 1: refused, naming the version.
	if e := put("SELECT 1 WHERE $1 IS NULL AND $2 IS NULL", base(1), 409); !strings.Contains(e.Name, "version_conflict") || !strings.Contains(e.Name, "version 2") {
		t.Fatalf("stale save: %s", e.Name)
	}
	// The failed edit of the issue: broken SQL leaves version 2 in place.
	if e := put("SELEC name FROM people WHERE city = $1", base(2), 400); !strings.Contains(e.Name, "SELEC") {
		t.Fatalf("broken edit: %s", e.Name)
	}
	var cur savedQuery
	s.JSON(t, "GET", "/v1/workbench/queries/people-in", nil, 200, &cur)
	if cur.Version != 2 || cur.SQL != v2SQL {
		t.Fatalf("after the broken edit: %+v", cur)
	}

	var h struct {
		Current  int
		Versions []savedQuery
	}
	s.JSON(t, "GET", "/v1/workbench/queries/people-in/versions", nil, 200, &h)
	if h.Current != 2 || len(h.Versions) != 2 || h.Versions[0].Version != 2 || h.Versions[1].SQL != v1SQL {
		t.Fatalf("history: %+v", h)
	}
	s.JSON(t, "POST", "/v1/workbench/queries/people-in/restore", map[string]any{"version": 1}, 200, &q)
	if q.Version != 3 || q.SQL != v1SQL {
		t.Fatalf("restored: %+v", q)
	}
	s.Fail(t, "POST", "/v1/workbench/queries/people-in/restore", map[string]any{"version": 9}, 404)
	s.Fail(t, "POST", "/v1/workbench/queries/people-in/restore", map[string]any{}, 400)

	// Run it: JSON by default, CSV on request, parameters by name.
	var res struct {
		Rows [][]any
	}
	s.JSON(t, "GET", "/v1/workbench/queries/people-in/run?max_rate=100", nil, 200, &res)
	if len(res.Rows) != 2 || res.Rows[0][0] != "Ada" {
		t.Fatalf("run with the city's default: %+v", res)
	}
	s.JSON(t, "GET", "/v1/workbench/queries/people-in/run?city=Chicago&max_rate=22", nil, 200, &res)
	if len(res.Rows) != 1 {
		t.Fatalf("run with max_rate: %+v", res)
	}
	resp, body := s.Do(t, "GET", "/v1/workbench/queries/people-in/run?format=csv&p.city=Denver&max_rate=50", nil)
	if resp.StatusCode != 200 || string(body) != "name\nBo\n" || resp.Header.Get("X-Saved-Query-Version") != "3" {
		t.Fatalf("csv: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	for _, bad := range []struct{ query, want string }{
		{"?max_rate=cheap", `"max_rate" ($2) is a number`},
		{"?city=Denver", `"max_rate" ($2) has no default`},
		{"?town=Chicago&max_rate=1", `unknown query parameter "town"`},
		{"?format=xlsx", "not json or csv"},
		{"?limit=-1", "limit"},
	} {
		if e := s.Fail(t, "GET", "/v1/workbench/queries/people-in/run"+bad.query, nil, 400); !strings.Contains(e.Error.Message, bad.want) {
			t.Errorf("%s: %q does not say %q", bad.query, e.Error.Message, bad.want)
		}
	}
	s.Fail(t, "GET", "/v1/workbench/queries/nobody/run", nil, 404)
	// The caller's credentials run it, not the server's.
	if resp, _ := s.DoHeader(t, "GET", "/v1/workbench/queries/people-in/run", nil, http.Header{"Authorization": {""}}); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}

	// Deleted: gone from the list, its history kept and restorable.
	if resp, _ := s.Do(t, "DELETE", "/v1/workbench/queries/people-in", nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	s.Fail(t, "GET", "/v1/workbench/queries/people-in", nil, 404)
	s.JSON(t, "GET", "/v1/workbench/queries/people-in/versions", nil, 200, &h)
	if h.Current != 0 || len(h.Versions) != 3 {
		t.Fatalf("history of a deleted query: %+v", h)
	}
	if e := put(v2SQL, base(3), 409); !strings.Contains(e.Name, "query_gone") {
		t.Fatalf("save over a deleted one: %s", e.Name)
	}
	s.JSON(t, "POST", "/v1/workbench/queries/people-in/restore", map[string]any{"version": 2}, 201, &q)
	if q.Version != 4 || q.SQL != v2SQL {
		t.Fatalf("restored after delete: %+v", q)
	}
	s.Fail(t, "GET", "/v1/workbench/queries/never-saved/versions", nil, 404)
}
