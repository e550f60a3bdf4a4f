package workflow_test

import (
	"net/http"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/workflow"
)

// TestHTTPWorkflowLimits: through the real server, the embed mode applies
// embed.max_texts as POST /v1/embed does (it ignored it), a run past
// workflow.max_runs is a 429 with Retry-After, and timeout_ms far above
// the configured maximum is a 400.
func TestHTTPWorkflowLimits(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Embed.MaxTexts = 4
		c.Workflow.MaxRuns = 1
	})
	var run workflow.Run
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "ok", "mode": "embed", "inputs": map[string]any{"texts": []string{"a", "b", "c", "d"}}},
	}}, 200, &run)
	if !run.Success {
		t.Fatalf("4 texts: %+v", run.Nodes)
	}
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "many", "mode": "embed", "inputs": map[string]any{"texts": []string{"a", "b", "c", "d", "e"}}},
		map[string]any{"id": "blank", "mode": "embed", "inputs": map[string]any{"texts": []string{"a", "  "}}},
		map[string]any{"id": "gen", "mode": "test_echo", "inputs": map[string]any{"s": strings.Repeat("word ", 450_000)}},
		map[string]any{"id": "huge", "mode": "embed", "inputs": map[string]any{"texts": []string{"$gen.output.s", "$gen.output.s"}}},
	}}, 200, &run)
	for id, want := range map[string]string{"many": "embed.max_texts", "blank": "empty text", "huge": "server.body_limit"} {
		var n workflow.NodeResult
		for _, x := range run.Nodes {
			if x.ID == id {
				n = x
			}
		}
		if n.Status != workflow.StatusFailed || !strings.Contains(n.Error, want) {
			t.Errorf("node %s = %s %q, want a failure naming %s", id, n.Status, n.Error, want)
		}
	}

	e := s.Fail(t, "POST", "/v1/observer/workflow/run", map[string]any{"timeout_ms": 1e12, "nodes": []any{
		map[string]any{"id": "a", "mode": "test_echo"},
	}}, 400)
	if !strings.Contains(e.Error.Message, "max_workflow_timeout") {
		t.Fatalf("timeout error = %+v", e.Error)
	}

	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"async": true, "nodes": []any{
		map[string]any{"id": "long", "mode": "test_sleep", "inputs": map[string]any{"ms": 60000}},
	}}, 202, nil)
	resp, body := s.Do(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "a", "mode": "test_echo"},
	}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "workflow.max_runs") {
		t.Fatalf("second run while one runs: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}
