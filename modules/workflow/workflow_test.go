package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/kit"
	"lakehouse/modules/observer"
)

func testRunner(t *testing.T, mut ...func(*config.WorkflowConfig)) (*Runner, *observer.Observer) {
	t.Helper()
	cfg := config.Default().Workflow
	cfg.NodeTimeout = config.Duration(5 * time.Second)
	for _, m := range mut {
		m(&cfg)
	}
	o := observer.NewObserver(1000, 0, nil)
	r := NewRunner(o, cfg, nil)
	t.Cleanup(r.Close)
	r.RegisterMode("echo", func(_ context.Context, in Inputs) (any, error) { return map[string]any(in), nil })
	r.RegisterMode("fail", func(_ context.Context, in Inputs) (any, error) { return nil, errors.New("boom: upstream said no") })
	r.RegisterMode("panic", func(_ context.Context, in Inputs) (any, error) { panic("mode exploded") })
	r.RegisterMode("sleep", func(ctx context.Context, in Inputs) (any, error) {
		ms, _ := in.Int("ms", 10)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return map[string]any{"slept": ms}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	return r, o
}

func runSync(t *testing.T, r *Runner, wf Workflow) Run {
	t.Helper()
	rs, err := r.Start(context.Background(), wf, Caller{Principal: "primary", ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rs.wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
	return rs.snapshot()
}

func node(run Run, id string) NodeResult {
	for _, n := range run.Nodes {
		if n.ID == id {
			return n
		}
	}
	return NodeResult{}
}

func TestWorkflowReferencesAndOneRowPerNode(t *testing.T) {
	r, o := testRunner(t)
	run := runSync(t, r, Workflow{Name: "refs", Nodes: []Node{
		{ID: "a", Mode: "echo", Inputs: map[string]any{"rows": []any{map[string]any{"name": "x"}, map[string]any{"name": "y"}}, "n": 2.0}},
		{ID: "b", Mode: "echo", Inputs: map[string]any{"names": "$a.output.rows.*.name", "first": "$a.output.rows.0.name", "price": "$5.00"}},
		{ID: "c", Mode: "echo", DependsOn: []string{"a"}, Inputs: map[string]any{"nested": map[string]any{"all": "$b.output"}}},
		{ID: "d", Mode: "echo"},
	}})
	if !run.Success || run.Status != StatusSucceeded {
		t.Fatalf("run = %+v", run)
	}
	b := node(run, "b").Output.(map[string]any)
	if fmt.Sprint(b["names"]) != "[x y]" || b["first"] != "x" || b["price"] != "$5.00" {
		t.Fatalf("b output = %v", b)
	}
	if deps := node(run, "c").DependsOn; fmt.Sprint(deps) != "[a b]" {
		t.Fatalf("c deps = %v (references add dependencies)", deps)
	}
	rows := o.Events(observer.Filter{RunID: run.ID})
	if len(rows) != 4 {
		t.Fatalf("%d rows for 4 nodes", len(rows))
	}
	for _, ev := range rows {
		if ev.Source != observer.SourceWorkflow || ev.Workflow != "refs" || !ev.Success || ev.Principal != "primary" || ev.Node == "" {
			t.Fatalf("row = %+v", ev)
		}
	}
}

func TestWorkflowFailureSkipsDependantsNeverFakes(t *testing.T) {
	r, o := testRunner(t)
	run := runSync(t, r, Workflow{Name: "f", Nodes: []Node{
		{ID: "a", Mode: "echo"},
		{ID: "b", Mode: "fail", DependsOn: []string{"a"}},
		{ID: "c", Mode: "echo", Inputs: map[string]any{"x": "$b.output.y"}},
		{ID: "d", Mode: "echo", DependsOn: []string{"c"}},
		{ID: "e", Mode: "echo", DependsOn: []string{"a"}},
	}})
	if run.Success || run.Status != StatusFailed {
		t.Fatalf("run should fail: %+v", run)
	}
	want := map[string]string{"a": StatusSucceeded, "b": StatusFailed, "c": StatusSkipped, "d": StatusSkipped, "e": StatusSucceeded}
	for id, st := range want {
		n := node(run, id)
		if n.Status != st || n.Success != (st == StatusSucceeded) {
			t.Errorf("node %s = %s success=%v, want %s", id, n.Status, n.Success, st)
		}
		if st != StatusSucceeded && n.Output != nil {
			t.Errorf("node %s has an output though it did not run: %v", id, n.Output)
		}
	}
	if e := node(run, "b").Error; !strings.Contains(e, "boom: upstream said no") {
		t.Errorf("b error = %q", e)
	}
	if e := node(run, "c").Error; !strings.Contains(e, `"b"`) || !strings.Contains(e, "failed") {
		t.Errorf("c error = %q", e)
	}
	if e := node(run, "d").Error; !strings.Contains(e, `"c" was skipped`) {
		t.Errorf("d error = %q", e)
	}
	rows := o.Events(observer.Filter{RunID: run.ID})
	if len(rows) != 5 {
		t.Fatalf("%d rows for 5 nodes", len(rows))
	}
	fails := 0
	for _, ev := range rows {
		if !ev.Success {
			fails++
		}
	}
	if fails != 3 {
		t.Fatalf("%d failed rows, want 3 (b failed, c and d skipped)", fails)
	}
}

func TestWorkflowPanicIsAFailedNode(t *testing.T) {
	r, _ := testRunner(t)
	run := runSync(t, r, Workflow{Nodes: []Node{{ID: "p", Mode: "panic"}, {ID: "q", Mode: "echo", DependsOn: []string{"p"}}, {ID: "ok", Mode: "echo"}}})
	if p := node(run, "p"); p.Status != StatusFailed || !strings.Contains(p.Error, "mode exploded") {
		t.Fatalf("panicking node = %+v", p)
	}
	if node(run, "q").Status != StatusSkipped || node(run, "ok").Status != StatusSucceeded {
		t.Fatalf("run = %+v", run)
	}
	// The runner still works afterwards.
	if again := runSync(t, r, Workflow{Nodes: []Node{{ID: "x", Mode: "echo"}}}); !again.Success {
		t.Fatal("runner broken after a panic")
	}
}

func TestWorkflowNodeTimeout(t *testing.T) {
	r, _ := testRunner(t)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	r.RegisterMode("stuck", func(ctx context.Context, in Inputs) (any, error) { <-stuck; return nil, nil }) // ignores ctx
	run := runSync(t, r, Workflow{Nodes: []Node{
		{ID: "s", Mode: "sleep", TimeoutMS: 20, Inputs: map[string]any{"ms": 5000.0}},
		{ID: "x", Mode: "stuck", TimeoutMS: 20},
	}})
	for _, id := range []string{"s", "x"} {
		if n := node(run, id); n.Status != StatusFailed || !strings.Contains(n.Error, "timed out") {
			t.Fatalf("node %s = %+v", id, n)
		}
	}
}

func TestWorkflowIndependentNodesRunConcurrently(t *testing.T) {
	r, _ := testRunner(t, func(c *config.WorkflowConfig) { c.MaxParallel = 3 })
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	r.RegisterMode("meet", func(ctx context.Context, _ Inputs) (any, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == 3 {
			close(gate)
		}
		select {
		case <-gate: // all three were in flight together
			return map[string]any{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	run := runSync(t, r, Workflow{Nodes: []Node{
		{ID: "a", Mode: "meet", TimeoutMS: 3000}, {ID: "b", Mode: "meet", TimeoutMS: 3000}, {ID: "c", Mode: "meet", TimeoutMS: 3000},
		{ID: "join", Mode: "echo", DependsOn: []string{"a", "b", "c"}},
	}})
	if !run.Success || peak.Load() != 3 {
		t.Fatalf("peak concurrency %d, run %+v", peak.Load(), run)
	}
}

func TestWorkflowRowsVisibleMidRun(t *testing.T) {
	r, o := testRunner(t)
	release := make(chan struct{})
	r.RegisterMode("wait", func(ctx context.Context, _ Inputs) (any, error) {
		select {
		case <-release:
			return map[string]any{"done": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	rs, err := r.Start(context.Background(), Workflow{Name: "long", Nodes: []Node{
		{ID: "first", Mode: "echo"}, {ID: "second", Mode: "wait", DependsOn: []string{"first"}},
	}}, Caller{})
	if err != nil {
		t.Fatal(err)
	}
	runID := rs.snapshot().ID
	deadline := time.Now().Add(5 * time.Second)
	for len(o.Events(observer.Filter{RunID: runID})) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first node's row never appeared while the run was going")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mid, _ := r.Get(runID)
	if mid.Status != StatusRunning || node(mid, "first").Status != StatusSucceeded || node(mid, "second").Status != StatusRunning {
		t.Fatalf("mid-run snapshot = %+v", mid)
	}
	if rows := o.Events(observer.Filter{RunID: runID}); len(rows) != 1 || rows[0].Node != "first" {
		t.Fatalf("mid-run rows = %+v", rows)
	}
	close(release)
	if err := rs.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rows := o.Events(observer.Filter{RunID: runID}); len(rows) != 2 {
		t.Fatalf("final rows = %d", len(rows))
	}
}

func TestWorkflowValidation(t *testing.T) {
	r, _ := testRunner(t)
	cases := []struct {
		name, problem, mention string
		wf                     Workflow
	}{
		{"empty", "empty", "no nodes", Workflow{}},
		{"cycle", "cycle", "a -> b -> c -> a", Workflow{Nodes: []Node{
			{ID: "a", Mode: "echo", DependsOn: []string{"c"}}, {ID: "b", Mode: "echo", DependsOn: []string{"a"}}, {ID: "c", Mode: "echo", Inputs: map[string]any{"x": "$b.output"}},
		}}},
		{"self", "cycle", "itself", Workflow{Nodes: []Node{{ID: "a", Mode: "echo", DependsOn: []string{"a"}}}}},
		{"unknown mode", "unknown_mode", `"teleport"`, Workflow{Nodes: []Node{{ID: "a", Mode: "teleport"}}}},
		{"missing dep", "missing_dependency", `"ghost"`, Workflow{Nodes: []Node{{ID: "a", Mode: "echo", DependsOn: []string{"ghost"}}}}},
		{"missing ref", "missing_reference", `"ghost"`, Workflow{Nodes: []Node{{ID: "a", Mode: "echo", Inputs: map[string]any{"l": []any{"$ghost.output.x"}}}}}},
		{"dup id", "duplicate_id", `"a"`, Workflow{Nodes: []Node{{ID: "a", Mode: "echo"}, {ID: "a", Mode: "echo"}}}},
		{"bad id", "bad_id", "a.b", Workflow{Nodes: []Node{{ID: "a.b", Mode: "echo"}}}},
	}
	for _, tc := range cases {
		_, err := r.Start(context.Background(), tc.wf, Caller{})
		var apiErr *kit.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 400 {
			t.Errorf("%s: err = %v, want a 400", tc.name, err)
			continue
		}
		if apiErr.Details["problem"] != tc.problem || !strings.Contains(apiErr.Message, tc.mention) {
			t.Errorf("%s: %q %v, want problem %s mentioning %s", tc.name, apiErr.Message, apiErr.Details, tc.problem, tc.mention)
		}
	}
}

func TestWorkflowBadReferencePathFailsNode(t *testing.T) {
	r, _ := testRunner(t)
	run := runSync(t, r, Workflow{Nodes: []Node{
		{ID: "a", Mode: "echo", Inputs: map[string]any{"x": 1.0}},
		{ID: "b", Mode: "echo", Inputs: map[string]any{"y": "$a.output.nope"}},
	}})
	if b := node(run, "b"); b.Status != StatusFailed || !strings.Contains(b.Error, `no field "nope"`) {
		t.Fatalf("b = %+v", b)
	}
}

func TestServiceModeWithoutModuleFailsClearly(t *testing.T) {
	r, _ := testRunner(t)
	registerServiceModes(r, kit.NewContainer(config.Default(), nil))
	run := runSync(t, r, Workflow{Nodes: []Node{
		{ID: "q", Mode: "sql", Inputs: map[string]any{"sql": "SELECT 1"}},
		{ID: "p", Mode: "pathway_add", Inputs: map[string]any{"content": "x"}},
	}})
	for id, module := range map[string]string{"q": "query", "p": "pathway"} {
		if n := node(run, id); n.Status != StatusFailed || !strings.Contains(n.Error, "needs the "+module+" module") {
			t.Fatalf("node %s = %+v", id, n)
		}
	}
}

func TestKeepRunsForgetsOldestFinished(t *testing.T) {
	r, _ := testRunner(t, func(c *config.WorkflowConfig) { c.KeepRuns = 2 })
	var first string
	for i := range 4 {
		run := runSync(t, r, Workflow{Nodes: []Node{{ID: "a", Mode: "echo"}}})
		if i == 0 {
			first = run.ID
		}
	}
	if _, ok := r.Get(first); ok {
		t.Fatal("oldest run still kept")
	}
	if n := len(r.List()); n != 2 {
		t.Fatalf("%d runs kept, want 2", n)
	}
}
