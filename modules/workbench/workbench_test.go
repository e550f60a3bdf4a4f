package workbench_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

func TestSavedQueriesAreSharedAndValidated(t *testing.T) {
	s := apptest.Start(t)
	q := map[string]any{"name": "By city", "sql": "SELECT $1 AS city", "params": []map[string]any{{"name": "city", "default": "Chicago"}}}
	var saved struct {
		ID      string
		Changed bool
		Params  []struct{ Name, Type string }
	}
	s.JSON(t, "PUT", "/v1/workbench/queries/by-city", q, 201, &saved)
	if saved.ID != "by-city" || !saved.Changed || saved.Params[0].Type != "text" {
		t.Fatalf("created: %+v", saved)
	}
	s.JSON(t, "PUT", "/v1/workbench/queries/by-city", q, 200, &saved)
	if saved.Changed {
		t.Fatal("identical PUT reported a change")
	}
	q["sql"] = "SELECT upper($1) AS city"
	s.JSON(t, "PUT", "/v1/workbench/queries/by-city", q, 200, &saved)
	if !saved.Changed {
		t.Fatal("changed PUT reported no change")
	}
	// A restart keeps them (they live in storage).
	s = s.Restart(t)
	var list struct {
		Queries []struct{ ID, SQL string }
	}
	s.JSON(t, "GET", "/v1/workbench/queries", nil, 200, &list)
	if len(list.Queries) != 1 || list.Queries[0].SQL != "SELECT upper($1) AS city" {
		t.Fatalf("list after restart: %+v", list)
	}
	// The storage API cannot reach them.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		if resp, _ := s.Do(t, m, "/v1/storage/objects/_workbench/queries/by-city.json", "{}"); resp.StatusCode < 400 {
			t.Errorf("storage %s of a saved query: %d", m, resp.StatusCode)
		}
	}
	for _, bad := range []struct {
		id   string
		body any
		want int
	}{
		{"Bad%20Id", q, 400},
		{"x", map[string]any{"name": "", "sql": "SELECT 1"}, 400},
		{"x", map[string]any{"name": "n", "sql": " "}, 400},
		{"x", map[string]any{"name": "n", "sql": "SELECT 1", "params": []map[string]any{{"name": "a b"}}}, 400},
		{"x", map[string]any{"name": "n", "sql": "SELECT 1", "params": []map[string]any{{"name": "a", "type": "date"}}}, 400},
		{"x", map[string]any{"id": "y", "name": "n", "sql": "SELECT 1"}, 400},
	} {
		s.Fail(t, "PUT", "/v1/workbench/queries/"+bad.id, bad.body, bad.want)
	}
	if resp, _ := s.Do(t, "DELETE", "/v1/workbench/queries/by-city", nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	s.Fail(t, "GET", "/v1/workbench/queries/by-city", nil, 404)
	s.Fail(t, "DELETE", "/v1/workbench/queries/by-city", nil, 404)
}

func exportURL(sql, format string, params ...any) string {
	v := url.Values{"sql": {sql}, "format": {format}, "filename": {"people list"}}
	if len(params) > 0 {
		p, _ := json.Marshal(params)
		v.Set("params", string(p))
	}
	return "/v1/workbench/export?" + v.Encode()
}

func TestExportStreamsTheWholeAnswer(t *testing.T) {
	s := apptest.Start(t)
	var csv strings.Builder
	csv.WriteString("id,name,score\n")
	for i := range 20000 {
		csv.WriteString(itoa(i) + ",n" + itoa(i) + "," + itoa(i%7) + ".5\n")
	}
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=people", csv.String()); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	sql := "SELECT id, name, score FROM people WHERE id >= $1 ORDER BY id"

	resp, body := s.Do(t, "GET", exportURL(sql, "csv", 0), nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="people_list.csv"`) {
		t.Fatalf("csv: %d %v %.200s", resp.StatusCode, resp.Header, body)
	}
	if lines := strings.Count(string(body), "\n"); lines != 20001 {
		t.Fatalf("csv has %d lines, want 20001 (not capped at a page)", lines)
	}

	resp, body = s.Do(t, "GET", exportURL(sql, "json", 19998), nil)
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil || resp.StatusCode != 200 || len(rows) != 2 || rows[1]["name"] != "n19999" {
		t.Fatalf("json: %d %v %s", resp.StatusCode, err, body)
	}

	resp, body = s.Do(t, "GET", exportURL(sql, "parquet", 0), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.parquet" {
		t.Fatalf("parquet: %d %v %.200s", resp.StatusCode, resp.Header, body)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parquet: %v", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 20000 || tbl.NumCols() != 3 {
		t.Fatalf("parquet: %d rows × %d cols", tbl.NumRows(), tbl.NumCols())
	}

	// An empty answer is a valid file of no rows.
	resp, body = s.Do(t, "GET", exportURL("SELECT 1 AS x WHERE false", "parquet"), nil)
	if pf, err := file.NewParquetReader(bytes.NewReader(body)); resp.StatusCode != 200 || err != nil || pf.NumRows() != 0 {
		t.Fatalf("empty parquet: %d %v", resp.StatusCode, err)
	}

	// Errors are the query module's, not a downloaded error file.
	resp, body = s.Do(t, "GET", exportURL("SELECT * FROM nope", "parquet"), nil)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Disposition") != "" || !strings.Contains(string(body), "nope") {
		t.Fatalf("bad SQL: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = s.Do(t, "GET", exportURL("SELECT * FROM nope", "csv"), nil)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Disposition") != "" {
		t.Fatalf("bad SQL csv: %d %v", resp.StatusCode, resp.Header)
	}
	s.Fail(t, "GET", exportURL("SELECT 1", "xlsx"), nil, 400)
	// The sub-request runs with the caller's credentials, not the server's.
	resp, _ = s.DoHeader(t, "GET", exportURL("SELECT 1", "csv"), nil, http.Header{"Authorization": {""}})
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
}

// A browser session's export (a GET carrying only the cookie) runs its
// POST /v1/sql sub-request with the session's CSRF token.
func TestExportWithSessionCookie(t *testing.T) {
	s := apptest.Start(t)
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	resp, body := s.DoHeader(t, "POST", "/v1/session", map[string]string{"token": s.Token}, http.Header{"Authorization": {""}})
	if resp.StatusCode != 200 || json.Unmarshal(body, &login) != nil {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	resp, body = s.DoHeader(t, "GET", exportURL("SELECT 42 AS answer", "csv"), nil, http.Header{"Authorization": {""}, "Cookie": {cookie}})
	if resp.StatusCode != 200 || string(body) != "answer\n42\n" {
		t.Fatalf("cookie export: %d %q", resp.StatusCode, body)
	}
}

// An export whose query fails after the first byte (here its timeout
// passes while the client is slow to read) ends visibly: csv and json
// get a last line saying why, and every format's transfer is cut, so no
// client takes it for a complete file.
func TestExportFailingAfterTheFirstByteIsCut(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Query.Timeout = config.Duration(1500 * time.Millisecond)
		c.Query.MaxTimeout = config.Duration(1500 * time.Millisecond)
	})
	// ~30 MiB in every format (hex does not compress), more than the
	// loopback socket buffers hold, so the server blocks on the slow client.
	sql := "SELECT i, md5(i::VARCHAR) AS a, md5((i + 1)::VARCHAR) AS b FROM range(400000) t(i)"
	for _, format := range []string{"csv", "json", "parquet"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest("GET", s.URL+exportURL(sql, format), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+s.Token)
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%d %.300s", resp.StatusCode, b)
			}
			first := make([]byte, 1)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // past the query's timeout
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("reading the rest: %v after %d bytes, want a cut transfer", err, len(body))
			}
			tail := string(body[max(0, len(body)-300):])
			switch format {
			case "csv":
				if !strings.HasSuffix(tail, "export failed: timeout: query exceeded its timeout and was interrupted\n") {
					t.Fatalf("csv ends %q", tail)
				}
			case "json":
				if !strings.Contains(tail, `{"error":{"code":"timeout"`) || strings.HasSuffix(strings.TrimSpace(tail), "]") {
					t.Fatalf("json ends %q", tail)
				}
			case "parquet":
				if _, err := file.NewParquetReader(bytes.NewReader(append(first, body...))); err == nil {
					t.Fatal("the cut parquet file opens")
				}
			}
		})
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
