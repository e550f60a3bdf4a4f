package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/modules/workflow"
)

// nodeRows are the observer's rows matching q (GET /v1/observer/events),
// where every workflow node leaves one.
func nodeRows(t *testing.T, s *apptest.Server, q url.Values) []map[string]any {
	t.Helper()
	var page struct {
		Events []map[string]any `json:"events"`
	}
	s.JSON(t, "GET", "/v1/observer/events?"+q.Encode(), nil, 200, &page)
	return page.Events
}

func init() {
	// Test modes every runner in this test binary knows.
	workflow.RegisterMode("test_echo", func(_ context.Context, in workflow.Inputs) (any, error) { return map[string]any(in), nil })
	workflow.RegisterMode("test_fail", func(context.Context, workflow.Inputs) (any, error) { return nil, errors.New("deliberate failure") })
	workflow.RegisterMode("test_panic", func(context.Context, workflow.Inputs) (any, error) { panic("deliberate panic") })
	workflow.RegisterMode("test_sleep", func(ctx context.Context, in workflow.Inputs) (any, error) {
		ms, _ := in.Int("ms", 10)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return map[string]any{"slept_ms": ms}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
}

func TestHTTPWorkflow(t *testing.T) {
	s := apptest.Start(t)
	e := s.Fail(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "a", "mode": "test_echo", "depends_on": []string{"b"}},
		map[string]any{"id": "b", "mode": "test_echo", "depends_on": []string{"a"}},
	}}, 400)
	if e.Error.Details["problem"] != "cycle" || !strings.Contains(e.Error.Message, "->") {
		t.Fatalf("cycle error = %+v", e.Error)
	}
	e = s.Fail(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{map[string]any{"id": "a", "mode": "nope"}}}, 400)
	if e.Error.Details["problem"] != "unknown_mode" || !strings.Contains(e.Error.Message, "test_echo") {
		t.Fatalf("unknown mode error = %+v", e.Error)
	}
	s.Fail(t, "POST", "/v1/observer/workflow/run", `{"nodes": [`, 400)

	var run workflow.Run
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"name": "http_wf", "nodes": []any{
		map[string]any{"id": "a", "mode": "test_echo", "inputs": map[string]any{"v": 1}},
		map[string]any{"id": "b", "mode": "test_fail", "depends_on": []string{"a"}},
		map[string]any{"id": "c", "mode": "test_echo", "inputs": map[string]any{"x": "$b.output.v"}},
		map[string]any{"id": "d", "mode": "test_panic"},
	}}, 200, &run)
	if run.Success || len(run.Nodes) != 4 {
		t.Fatalf("run = %+v", run)
	}
	status := map[string]string{}
	for _, n := range run.Nodes {
		status[n.ID] = n.Status
		if n.Status != workflow.StatusSkipped && n.StartedAt == nil {
			t.Errorf("node %s without started_at", n.ID)
		}
	}
	if fmt.Sprint(status) != "map[a:succeeded b:failed c:skipped d:failed]" {
		t.Fatalf("statuses = %v", status)
	}
	rows := nodeRows(t, s, url.Values{"workflow": {"http_wf"}})
	if len(rows) != 4 {
		t.Fatalf("%d workflow rows, want 4", len(rows))
	}

	// Async: 202 with an id; GET shows progress, then the result.
	var acc map[string]any
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"async": true, "name": "slow", "nodes": []any{
		map[string]any{"id": "quick", "mode": "test_echo"},
		map[string]any{"id": "slow", "mode": "test_sleep", "depends_on": []string{"quick"}, "inputs": map[string]any{"ms": 300}},
	}}, 202, &acc)
	id, _ := acc["id"].(string)
	if id == "" || acc["status"] != "running" {
		t.Fatalf("async answer = %v", acc)
	}
	apptest.WaitFor(t, "the async run to finish", func() bool {
		s.JSON(t, "GET", "/v1/observer/workflow/"+id, nil, 200, &run)
		return run.Status != workflow.StatusRunning
	})
	if !run.Success || run.FinishedAt == nil {
		t.Fatalf("async run = %+v", run)
	}
	s.Fail(t, "GET", "/v1/observer/workflow/no-such-run", nil, 404)
}

// A clean stop cancels a running async workflow; the cancelled node's
// row is recorded and flushed before the process ends, so after a
// restart the trail says what happened to it.
func TestHTTPStopCancelsAsyncWorkflowAndKeepsItsRows(t *testing.T) {
	s := apptest.Start(t)
	var acc map[string]any
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"async": true, "name": "interrupted", "nodes": []any{
		map[string]any{"id": "fast", "mode": "test_echo"},
		map[string]any{"id": "long", "mode": "test_sleep", "depends_on": []string{"fast"}, "inputs": map[string]any{"ms": 60000}},
		map[string]any{"id": "after", "mode": "test_echo", "depends_on": []string{"long"}},
	}}, 202, &acc)
	runID := acc["id"].(string)
	apptest.WaitFor(t, "the first node's row", func() bool {
		return len(nodeRows(t, s, url.Values{"run_id": {runID}})) == 1
	})
	s = s.Restart(t)
	rows := nodeRows(t, s, url.Values{"run_id": {runID}})
	got := map[string]string{}
	for _, r := range rows {
		got[r["node"].(string)] = fmt.Sprint(r["node_status"], " ", r["success"])
	}
	if fmt.Sprint(got) != "map[after:skipped false fast:succeeded true long:failed false]" {
		t.Fatalf("rows after restart = %v", got)
	}
}

// TestHTTPDeepWorkflowRefused: a workflow body nesting deeper than
// observer.max_json_depth is a 400 naming the limit; nothing runs.
func TestHTTPDeepWorkflowRefused(t *testing.T) {
	s := apptest.Start(t)
	deep := strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600)
	e := s.Fail(t, "POST", "/v1/observer/workflow/run", `{"nodes":[{"id":"a","mode":"test_echo","inputs":{"x":`+deep+`}}]}`, 400)
	if e.Error.Code != "too_deep" || !strings.Contains(e.Error.Message, "max_json_depth") {
		t.Fatalf("workflow: %+v", e.Error)
	}
	if got := nodeRows(t, s, url.Values{"source": {"workflow"}}); len(got) != 0 {
		t.Fatalf("rows recorded for a refused workflow: %d", len(got))
	}
}
