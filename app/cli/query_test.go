package cli_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
)

// TestQueryCommand runs `lakehouse query` against a running server (with
// the token from AUTH_TOKEN) and in-process on the stopped server's data dir.
func TestQueryCommand(t *testing.T) {
	s := apptest.Start(t)
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=people", "id,name,city\n1,Ann,Chicago\n2,\"Bo, Jr\",Austin\n10,Cy,Chicago\n",
		http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, data)
	}
	cfg := writeEmptyConfig(t)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Main(append([]string{"--config", cfg, "--data-dir", s.DataDir, "query"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	t.Setenv("AUTH_TOKEN", s.Token)
	code, out, errs := run("SELECT id, name FROM people ORDER BY id", "--server", s.URL, "--format", "table")
	want := "id | name\n---+-------\n 1 | Ann\n 2 | Bo, Jr\n10 | Cy\n(3 rows)\n"
	if code != 0 || out != want {
		t.Fatalf("table: exit %d\n%s\nwant\n%s%s", code, out, want, errs)
	}
	// Not a terminal: CSV by default.
	code, out, _ = run("SELECT name FROM people WHERE id = 2", "--server", s.URL)
	if code != 0 || out != "name\n\"Bo, Jr\"\n" {
		t.Fatalf("csv: exit %d %q", code, out)
	}
	code, out, _ = run("SELECT count(*) AS n FROM people", "--server", s.URL, "--format", "json")
	if code != 0 || !strings.Contains(out, `"row_count": 1`) || !strings.Contains(out, "3") {
		t.Fatalf("json: exit %d %s", code, out)
	}
	code, _, errs = run("DROP VIEW people", "--server", s.URL)
	if code == 0 || !strings.Contains(errs, "forbidden_statement") {
		t.Fatalf("forbidden: exit %d %s", code, errs)
	}
	t.Setenv("AUTH_TOKEN", "wrong")
	if code, _, errs = run("SELECT 1", "--server", s.URL); code == 0 || !strings.Contains(errs, "401") {
		t.Fatalf("bad token: exit %d %s", code, errs)
	}
	// In-process: opens the stopped server's data dir. (A server in
	// another process holds the metadata database; the error then points
	// to --server. Not testable here: DuckDB shares a file between opens
	// in one process.)
	s.Stop(t)
	code, out, errs = run(`SELECT sum(id) AS s FROM "people@1"`, "--format", "csv")
	if code != 0 || out != "s\n13\n" {
		t.Fatalf("in-process: exit %d %q %s", code, out, errs)
	}
	if code, _, errs = run("SELEC 1"); code == 0 || !strings.Contains(errs, "syntax_error") {
		t.Fatalf("syntax: exit %d %s", code, errs)
	}
}
