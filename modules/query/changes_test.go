package query_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/storage/storagetest"
)

func ingestMode(t *testing.T, s *apptest.Server, query, csv string) {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, csv, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest %s: %d %s", query, resp.StatusCode, data)
	}
}

// changeLines renders a change view's rows as "change|version|id|name|city".
func changeLines(t *testing.T, s *apptest.Server, sql string) []string {
	t.Helper()
	var a sqlAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": sql}, 200, &a)
	var out []string
	for _, r := range a.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func wantChanges(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// changeScenario: append, upsert, delete, append, compaction-free replace
// with one row changed; the feed between any two versions names exactly
// what changed, paired by the declared key.
func changeScenario(t *testing.T, s *apptest.Server) {
	ingestMode(t, s, "name=people", "id,name,city\n1,Ann,Chicago\n2,Bob,Austin\n3,Cy,Denver\n")
	ingestMode(t, s, "name=people&mode=upsert&key=id", "id,name,city\n2,Bob,Boston\n3,Cy,Denver\n4,Di,Miami\n")
	ingestMode(t, s, "name=people&mode=delete", "id\n1\n")
	ingestMode(t, s, "name=people", "id,name,city\n5,Ed,Reno\n")
	wantChanges(t, changeLines(t, s, `SELECT * FROM "people@1..4"`),
		"update_before|2|2|Bob|Austin", "update_after|2|2|Bob|Boston", "insert|2|4|Di|Miami",
		"delete|3|1|Ann|Chicago", "insert|4|5|Ed|Reno")
	// Open-ended: up to the latest; and SQL over it.
	wantChanges(t, changeLines(t, s, `SELECT _change, name FROM "people@3.." ORDER BY name`), "insert|Ed")
	wantChanges(t, changeLines(t, s, `SELECT name FROM "people@1..4" WHERE _change = 'update_after'`), "Bob")
	// A replace is a real diff: only the row that changed, paired by key.
	ingestMode(t, s, "name=people&mode=replace", "id,name,city\n2,Bob,Boston\n3,Cy,Dallas\n4,Di,Miami\n5,Ed,Reno\n")
	wantChanges(t, changeLines(t, s, `SELECT * FROM "people@4..5"`),
		"update_before|5|3|Cy|Denver", "update_after|5|3|Cy|Dallas")
	// "people@3.." read before the replace follows the new latest.
	wantChanges(t, changeLines(t, s, `SELECT _change, _version, name FROM "people@3.."`),
		"insert|4|Ed", "update_before|5|Cy", "update_after|5|Cy")

	// The route, in the formats of /v1/sql, and the catalog's path to it.
	resp, data := s.Do(t, "GET", "/v1/sql/changes/people?from=3&to=4&format=ndjson", nil)
	if resp.StatusCode != 200 || string(data) != `{"_change":"insert","_version":4,"id":5,"name":"Ed","city":"Reno"}`+"\n" {
		t.Fatalf("ndjson feed: %d %q", resp.StatusCode, data)
	}
	resp, data = s.DoHeader(t, "GET", "/v1/sql/changes/people?from=2&to=3", nil, http.Header{"Accept": {"text/csv"}})
	if resp.StatusCode != 200 || !strings.Contains(string(data), "delete,3,1,Ann,Chicago") {
		t.Fatalf("csv feed: %d %q", resp.StatusCode, data)
	}
	resp, data = s.Do(t, "GET", "/v1/catalog/datasets/people/changes?from=3&to=4&format=csv", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(data), "insert,4,5,Ed,Reno") {
		t.Fatalf("catalog path (redirected): %d %q", resp.StatusCode, data)
	}

	// Ranges that are not one, unknown datasets, a schema change inside.
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/sql/changes/people?from=4&to=4", 400, "bad_request"},
		{"/v1/sql/changes/people?from=0", 400, "bad_request"},
		{"/v1/sql/changes/people?from=2&to=99", 400, "bad_request"},
		{"/v1/sql/changes/people?from=1&format=xml", 400, "bad_request"},
		{"/v1/sql/changes/Bad..Name?from=1", 400, "invalid_name"},
		{"/v1/sql/changes/nobody?from=1", 400, "unknown_table"},
	} {
		e := s.Fail(t, "GET", c.path, nil, c.status)
		if e.Error.Code != c.code {
			t.Errorf("%s: %s %q", c.path, e.Error.Code, e.Error.Message)
		}
	}
	ingestMode(t, s, "name=people&mode=replace", "id,name\n9,Zed\n")
	e := s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": `SELECT * FROM "people@5..6"`}, 409)
	if e.Error.Code != "schema_changed" || !strings.Contains(e.Error.Message, "version 6") {
		t.Fatalf("schema change: %+v", e)
	}
}

func TestChangeFeedLocal(t *testing.T) {
	changeScenario(t, apptest.Start(t))
}

func TestChangeFeedMinIO(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	changeScenario(t, apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
	}))
}
