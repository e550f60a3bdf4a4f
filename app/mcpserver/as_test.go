package mcpserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/kit"
)

// TestMCPAsReaderListsNoWriteTools: `lakehouse mcp --as NAME` acts as
// that principal in-process: a reader limited to one dataset gets the
// read tools only, sees only its dataset, and its calls are audited
// under its name; an unknown name is refused before serving.
func TestMCPAsReaderListsNoWriteTools(t *testing.T) {
	dir := seededDataDir(t)
	s0 := apptest.Start(t, func(c *config.Config) { c.DataDir = dir })
	ingest(t, s0, "payroll", "id,salary\n1,99999\n")
	s0.Stop(t)
	principals := fmt.Sprintf("[[auth.principals]]\nname = \"agent\"\nrole = \"reader\"\ndatasets = [\"candidates\"]\ntoken_sha256 = %q\n", kit.TokenHash("agent-tok"))
	s := connect(t, []string{"AUTH_TOKEN=in-process-token"}, "--config", testConfig(t, "[auth]\n"+principals), "--data-dir", dir, "mcp", "--as", "agent")
	tools, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("a reader is offered the write tool %s", tool.Name)
		}
	}
	for _, want := range []string{"list_datasets", "query_sql", "search_vectors", "recall"} {
		if !slices.Contains(names, want) {
			t.Errorf("reader lacks %s: %v", want, names)
		}
	}
	for _, write := range []string{"remember", "index_dataset", "pathway_retire", "observer_event"} {
		if slices.Contains(names, write) {
			t.Errorf("reader offered %s", write)
		}
	}
	_, _, ds := s.call(t, "list_datasets", map[string]any{"include_internal": true}, nil)
	if got := fmt.Sprint(ds["datasets"]); !strings.Contains(got, "candidates") || strings.Contains(got, "payroll") {
		t.Fatalf("list_datasets as agent: %s", got)
	}
	res, text, _ := s.call(t, "query_sql", map[string]any{"sql": "SELECT * FROM payroll"}, nil)
	if !res.IsError || strings.Contains(text, "99999") {
		t.Fatalf("query_sql on an ungranted dataset: %v %s", res.IsError, text)
	}
}
