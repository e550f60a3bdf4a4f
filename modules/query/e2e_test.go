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

type sqlAnswer struct {
	Columns []struct{ Name, Type string } `json:"columns"`
	Rows    [][]any                       `json:"rows"`
	Count   int                           `json:"row_count"`
}

func ingestCSV(t *testing.T, s *apptest.Server, name, csv string) {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name="+name, csv, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest %s: %d %s", name, resp.StatusCode, data)
	}
}

func peopleCSV(n, offset int) string {
	var b strings.Builder
	b.WriteString("id,name,city,score\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,\"person, %d\",%s,%d.5\n", i+offset, i+offset, []string{"Chicago", "Austin"}[i%2], i)
	}
	return b.String()
}

// scenario: ingest through HTTP, then SELECT through HTTP; a second
// ingest is a new version, visible at once, with the old one reachable.
func scenario(t *testing.T, s *apptest.Server) {
	ingestCSV(t, s, "people", peopleCSV(50, 0))
	var a sqlAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT city, count(*) AS n FROM people GROUP BY city ORDER BY city"}, 200, &a)
	if a.Count != 2 || a.Rows[0][0] != "Austin" || a.Rows[0][1] != float64(25) || a.Columns[0].Type != "VARCHAR" {
		t.Fatalf("group by: %+v", a)
	}
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT name FROM people WHERE id = $1", "params": []any{7}}, 200, &a)
	if a.Count != 1 || a.Rows[0][0] != "person, 7" {
		t.Fatalf("params: %+v", a)
	}
	// Ingest appends by default: version 2 = version 1's rows + 80 more.
	ingestCSV(t, s, "people", peopleCSV(80, 1000))
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": `SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM "people@1"), (SELECT max(id) FROM "people@2")`}, 200, &a)
	if a.Rows[0][0] != float64(130) || a.Rows[0][1] != float64(50) || a.Rows[0][2] != float64(1079) {
		t.Fatalf("versions: %+v", a.Rows)
	}
	s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT * FROM nobody"}, 400)
	s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": ""}, 400)
	s.Fail(t, "POST", "/v1/sql", "{not json", 400)
	s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT * FROM read_csv('/etc/passwd')"}, 403)
	resp, data := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT id FROM people WHERE id >= 1000 ORDER BY id LIMIT 3", "format": "ndjson"})
	if resp.StatusCode != 200 || string(data) != "{\"id\":1000}\n{\"id\":1001}\n{\"id\":1002}\n" {
		t.Fatalf("ndjson: %d %q", resp.StatusCode, data)
	}
}

func TestEndToEndLocal(t *testing.T) {
	s := apptest.Start(t)
	scenario(t, s)
	// Views come back after a restart (built from the catalog at start).
	s2 := s.Restart(t)
	var a sqlAnswer
	s2.JSON(t, "POST", "/v1/sql", map[string]any{"sql": `SELECT count(*) FROM "people@1"`}, 200, &a)
	if a.Rows[0][0] != float64(50) {
		t.Fatalf("after restart: %+v", a)
	}
}

func TestEndToEndMinIO(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
	})
	scenario(t, s)
	var st struct {
		Enabled bool
		Stats   struct{ Misses, Entries int }
	}
	s.JSON(t, "GET", "/v1/sql/cache", nil, 200, &st)
	if !st.Enabled || st.Stats.Misses < 2 {
		t.Fatalf("part cache not used on S3: %+v", st)
	}
}
