package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
)

// TestCatalogKeysCommand declares a key and a foreign key with `lakehouse
// catalog keys` against a running server, reads them back, refuses a bad
// --fk with exit 2, then reads them offline from the stopped server's
// data dir.
func TestCatalogKeysCommand(t *testing.T) {
	s := apptest.Start(t)
	for _, ing := range []struct{ q, csv string }{
		{"name=people", "person_id,name\np1,Ada\n"},
		{"name=calls", "call_id,person_id\nc1,p1\n"},
	} {
		if resp, body := s.Do(t, "POST", "/v1/ingest?"+ing.q, ing.csv); resp.StatusCode != 201 {
			t.Fatalf("ingest: %d %s", resp.StatusCode, body)
		}
	}
	cfg := writeEmptyConfig(t)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Main(append([]string{"--config", cfg, "--data-dir", s.DataDir, "catalog", "keys"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	t.Setenv("AUTH_TOKEN", s.Token)
	if code, out, errs := run("people", "--key", "person_id", "--server", s.URL); code != 0 || !strings.Contains(out, "people: key (person_id) [declared]") {
		t.Fatalf("declare key: %d %q %q", code, out, errs)
	}
	if code, out, errs := run("calls", "--key", "call_id", "--fk", "person_id=people", "--server", s.URL); code != 0 || !strings.Contains(out, "(person_id) → people(person_id)") {
		t.Fatalf("declare fk: %d %q %q", code, out, errs)
	}
	if code, _, errs := run("calls", "--fk", "person_id->people", "--server", s.URL); code != 2 || !strings.Contains(errs, "columns=dataset") {
		t.Fatalf("bad --fk: %d %q", code, errs)
	}
	if code, _, errs := run("calls", "--fk", "person_id=ghosts", "--server", s.URL); code == 0 || !strings.Contains(errs, "ghosts") {
		t.Fatalf("unknown dataset: %d %q", code, errs)
	}
	s.Stop(t)
	if code, out, errs := run("people"); code != 0 || !strings.Contains(out, "referenced by calls(person_id)") {
		t.Fatalf("offline: %d %q %q", code, out, errs)
	}
}
