package workflow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/kit"
	"lakehouse/modules/observer"
	"lakehouse/modules/query"
)

// TestWorkflowResolvedInputsCapped: one 100 KB output referenced 400
// times used to be built and encoded whole (a 82 KiB workflow, 1 MB
// output, 4000 references made a 4 GB json.Marshal). The inputs are now
// counted while they are resolved: the node fails naming the limit, and
// nothing of that size is kept.
func TestWorkflowResolvedInputsCapped(t *testing.T) {
	r, _ := testRunner(t, func(c *config.WorkflowConfig) { c.MaxInputBytes = 1 << 20 })
	big := strings.Repeat("x", 100<<10)
	refs := make([]any, 400)
	for i := range refs {
		refs[i] = "$a.output.s"
	}
	run := runSync(t, r, Workflow{Nodes: []Node{
		{ID: "a", Mode: "echo", Inputs: map[string]any{"s": big}},
		{ID: "few", Mode: "echo", Inputs: map[string]any{"l": refs[:5]}},
		{ID: "many", Mode: "echo", Inputs: map[string]any{"l": refs}},
	}})
	if n := node(run, "few"); n.Status != StatusSucceeded {
		t.Fatalf("5 references (500 KB) must fit 1 MiB: %+v", n.Error)
	}
	n := node(run, "many")
	if n.Status != StatusFailed || !strings.Contains(n.Error, "max_input_bytes") || !strings.Contains(n.Error, "1048576") {
		t.Fatalf("many = %s %q", n.Status, n.Error)
	}
	if !strings.Contains(n.Error, "inputs.l[") {
		t.Fatalf("the error should say where the budget ran out: %q", n.Error)
	}
	rs := r.runs[run.ID]
	if got := rs.outputBytes(); got > 1<<20 {
		t.Fatalf("run holds %d output bytes", got)
	}
}

// TestWorkflowNodeAndRunOutputsCapped: one node's output above
// max_output_bytes fails that node; the outputs of a run together stop at
// max_run_output_bytes; runs kept for GET are bounded by keep_runs_bytes.
func TestWorkflowNodeAndRunOutputsCapped(t *testing.T) {
	r, _ := testRunner(t, func(c *config.WorkflowConfig) {
		c.MaxOutputBytes = 64 << 10
		c.MaxRunOutputBytes = 150 << 10
		c.KeepRunsBytes = 200 << 10
		c.MaxParallel = 1
	})
	r.RegisterMode("blob", func(_ context.Context, in Inputs) (any, error) {
		n, _ := in.Int("kb", 1)
		return map[string]any{"s": strings.Repeat("y", n<<10)}, nil
	})
	run := runSync(t, r, Workflow{Nodes: []Node{{ID: "huge", Mode: "blob", Inputs: map[string]any{"kb": 100.0}}}})
	if n := node(run, "huge"); n.Status != StatusFailed || !strings.Contains(n.Error, "max_output_bytes") || n.Output != nil {
		t.Fatalf("huge = %s %q", n.Status, n.Error)
	}
	run = runSync(t, r, Workflow{Nodes: []Node{
		{ID: "a", Mode: "blob", Inputs: map[string]any{"kb": 60.0}},
		{ID: "b", Mode: "blob", DependsOn: []string{"a"}, Inputs: map[string]any{"kb": 60.0}},
		{ID: "c", Mode: "blob", DependsOn: []string{"b"}, Inputs: map[string]any{"kb": 60.0}},
	}})
	if node(run, "a").Status != StatusSucceeded || node(run, "b").Status != StatusSucceeded {
		t.Fatalf("a, b should fit: %+v", run.Nodes)
	}
	if n := node(run, "c"); n.Status != StatusFailed || !strings.Contains(n.Error, "max_run_output_bytes") {
		t.Fatalf("c = %s %q", n.Status, n.Error)
	}
	first := run.ID
	for range 2 {
		runSync(t, r, Workflow{Nodes: []Node{{ID: "a", Mode: "blob", Inputs: map[string]any{"kb": 60.0}}}})
	}
	if _, ok := r.Get(first); ok {
		t.Fatal("the oldest run is still kept beyond keep_runs_bytes")
	}
}

// blocker is a mode that holds every node until released, counting how
// many are inside at once.
type blocker struct {
	in, peak atomic.Int32
	release  chan struct{}
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) mode(ctx context.Context, _ Inputs) (any, error) {
	n := b.in.Add(1)
	defer b.in.Add(-1)
	for {
		p := b.peak.Load()
		if n <= p || b.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-b.release:
		return map[string]any{"ok": true}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWorkflowConcurrentRunsCapped: past workflow.max_runs a run is a 429
// with Retry-After (two async runs used to starve the SQL pool); once
// one finishes, runs start again.
func TestWorkflowConcurrentRunsCapped(t *testing.T) {
	r, _ := testRunner(t, func(c *config.WorkflowConfig) { c.MaxRuns = 2 })
	b := newBlocker()
	r.RegisterMode("block", b.mode)
	wf := Workflow{Async: true, Nodes: []Node{{ID: "a", Mode: "block"}}}
	var started []*runState
	for range 2 {
		rs, err := r.Start(nil, wf, Caller{})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		started = append(started, rs)
	}
	_, err := r.Start(nil, wf, Caller{})
	var apiErr *kit.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests || apiErr.Header.Get("Retry-After") == "" ||
		!strings.Contains(apiErr.Message, "workflow.max_runs") {
		t.Fatalf("third run: %v", err)
	}
	close(b.release)
	for _, rs := range started {
		if err := rs.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the finished runs to be counted out", func() bool {
		r.runsMu.Lock()
		defer r.runsMu.Unlock()
		return r.running == 0
	})
	if run := runSync(t, r, Workflow{Nodes: []Node{{ID: "a", Mode: "block"}}}); !run.Success {
		t.Fatalf("a run after the others finished: %+v", run)
	}
}

// TestWorkflowTimeoutsCapped: timeout_ms up to 10^12 was accepted; above
// the configured maxima it is now a 400 naming the limit.
func TestWorkflowTimeoutsCapped(t *testing.T) {
	r, _ := testRunner(t)
	for _, tc := range []struct {
		wf  Workflow
		key string
	}{
		{Workflow{TimeoutMS: 1e12, Nodes: []Node{{ID: "a", Mode: "echo"}}}, "max_workflow_timeout"},
		{Workflow{Nodes: []Node{{ID: "a", Mode: "echo", TimeoutMS: 1e12}}}, "max_node_timeout"},
		{Workflow{Nodes: []Node{{ID: "a", Mode: "echo", TimeoutMS: -1}}}, "negative"},
	} {
		_, err := r.Start(context.Background(), tc.wf, Caller{})
		var apiErr *kit.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Details["problem"] != "bad_timeout" || !strings.Contains(apiErr.Message, tc.key) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	if run := runSync(t, r, Workflow{TimeoutMS: 3_600_000, Nodes: []Node{{ID: "a", Mode: "echo", TimeoutMS: 600_000}}}); !run.Success {
		t.Fatalf("timeouts at the maxima: %+v", run)
	}
}

// fakeQuerier holds every query until released, counting how many run at
// once (the real pool would make a waiting interactive query time out).
type fakeQuerier struct{ b *blocker }

func (f fakeQuerier) Query(ctx context.Context, _ string, _ []any, _ int) (*query.Result, error) {
	if _, err := f.b.mode(ctx, nil); err != nil {
		return nil, err
	}
	return &query.Result{Columns: []query.Column{{Name: "x"}}, Rows: [][]any{{1}}, RowCount: 1}, nil
}

// TestWorkflowSQLNodesUseAtMostHalfThePool: sql nodes of every run
// together hold at most half of query.max_concurrent connections, so an
// interactive query always finds one.
func TestWorkflowSQLNodesUseAtMostHalfThePool(t *testing.T) {
	r, _ := testRunner(t)
	cfg := config.Default()
	cfg.Query.MaxConcurrent = 4
	c := kit.NewContainer(cfg, nil)
	b := newBlocker()
	kit.Provide[query.Querier](c, fakeQuerier{b})
	registerServiceModes(r, c)
	var runs []*runState
	for range 3 {
		rs, err := r.Start(nil, Workflow{Async: true, Nodes: []Node{
			{ID: "q1", Mode: "sql", Inputs: map[string]any{"sql": "SELECT 1"}},
			{ID: "q2", Mode: "sql", Inputs: map[string]any{"sql": "SELECT 1"}},
		}}, Caller{})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, rs)
	}
	waitUntil(t, "two sql nodes to run", func() bool { return b.in.Load() == 2 })
	// Give the other four nodes every chance to (wrongly) start too.
	time.Sleep(100 * time.Millisecond)
	close(b.release)
	var wg sync.WaitGroup
	for _, rs := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = rs.wait(context.Background()) }()
	}
	wg.Wait()
	for _, rs := range runs {
		if run := rs.snapshot(); !run.Success {
			t.Fatalf("run = %+v", run)
		}
	}
	if p := b.peak.Load(); p != 2 {
		t.Fatalf("%d sql nodes ran at once; the workflows' share of a pool of 4 is 2", p)
	}
	if n := sqlSlots(0, 1); n != 1 {
		t.Fatalf("a pool of 1 still gives workflows %d slot(s), want 1", n)
	}
}

// TestWorkflowNameAndErrorTextBounded: a workflow name is copied onto
// every node row, and a mode's error may quote its whole input: both are
// bounded so 256 nodes cannot put a gigabyte into the ring.
func TestWorkflowNameAndErrorTextBounded(t *testing.T) {
	r, o := testRunner(t)
	_, err := r.Start(context.Background(), Workflow{Name: strings.Repeat("n", 300), Nodes: []Node{{ID: "a", Mode: "echo"}}}, Caller{})
	var apiErr *kit.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Details["problem"] != "bad_name" {
		t.Fatalf("long name: %v", err)
	}
	r.RegisterMode("loud", func(_ context.Context, in Inputs) (any, error) {
		s, _ := in.String("s")
		return nil, errors.New("rejected: " + s)
	})
	run := runSync(t, r, Workflow{Nodes: []Node{{ID: "a", Mode: "loud", Inputs: map[string]any{"s": strings.Repeat("é", 1<<20)}}}})
	n := node(run, "a")
	if len(n.Error) > 9<<10 || !strings.Contains(n.Error, "bytes cut") {
		t.Fatalf("error of %d bytes", len(n.Error))
	}
	if ev := o.Events(observer.Filter{RunID: run.ID}); len(ev) != 1 || len(ev[0].Error) > 9<<10 {
		t.Fatalf("row error of %d bytes", len(ev[0].Error))
	}
}
