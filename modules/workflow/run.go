package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"lakehouse/config"
	"lakehouse/modules/observer"
)

// ModeFunc runs one node: it gets the node's inputs with every reference
// resolved and returns a JSON-encodable output. It must honour ctx (the
// node's timeout). A returned error fails the node; so does a panic.
type ModeFunc func(ctx context.Context, in Inputs) (any, error)

// Node and run statuses.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// NodeResult is one node's outcome within a Run.
type NodeResult struct {
	ID         string     `json:"id"`
	Mode       string     `json:"mode"`
	DependsOn  []string   `json:"depends_on"`
	Status     string     `json:"status"`
	Success    bool       `json:"success"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	DurationMS float64    `json:"duration_ms"`
	Output     any        `json:"output,omitempty"`
	// EventID is the node's audit row in the observer ring.
	EventID int64 `json:"event_id,omitempty"`
}

// Run is a workflow run as GET /v1/observer/workflow/<id> shows it; while
// it runs, finished nodes already carry their results.
type Run struct {
	ID         string       `json:"id"`
	Workflow   string       `json:"workflow"`
	Status     string       `json:"status"`
	Success    bool         `json:"success"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	DurationMS float64      `json:"duration_ms"`
	Principal  string       `json:"principal,omitempty"`
	Nodes      []NodeResult `json:"nodes"`
}

// runState is a run in progress or kept after it finished.
type runState struct {
	mu      sync.Mutex
	run     Run
	outputs map[string]any
	// outBytes is the encoded size of the outputs, for
	// workflow.max_run_output_bytes and keep_runs_bytes.
	outBytes int64
	done     chan struct{}
}

func (rs *runState) snapshot() Run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.run
	r.Nodes = slices.Clone(r.Nodes)
	if r.FinishedAt == nil {
		r.DurationMS = msSince(r.StartedAt)
	}
	return r
}

// Wait blocks until the run finishes or ctx ends.
func (rs *runState) wait(ctx context.Context) error {
	select {
	case <-rs.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Runner validates and executes workflows. Modes live in a registry, so a
// program (or a test) can add its own with RegisterMode.
type Runner struct {
	rec observer.Recorder
	cfg config.WorkflowConfig
	log *slog.Logger
	met *metrics // nil outside the module

	modesMu sync.RWMutex
	modes   map[string]ModeFunc
	slots   map[string]chan struct{} // modes limited across runs (limitMode)

	runsMu  sync.Mutex
	runs    map[string]*runState
	order   []string // run ids, oldest first
	running int      // runs started and not finished (workflow.max_runs)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewRunner returns a runner recording one audit row per node in rec,
// with no modes of its own (the package's shared modes still apply).
func NewRunner(rec observer.Recorder, cfg config.WorkflowConfig, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{rec: rec, cfg: withLimitDefaults(cfg), log: log, modes: map[string]ModeFunc{}, slots: map[string]chan struct{}{},
		runs: map[string]*runState{}, ctx: ctx, cancel: cancel}
}

// RegisterMode adds or replaces one of this runner's modes.
func (r *Runner) RegisterMode(name string, fn ModeFunc) {
	r.modesMu.Lock()
	defer r.modesMu.Unlock()
	r.modes[name] = fn
}

// Modes lists the registered mode names (the runner's and the package's),
// sorted.
func (r *Runner) Modes() []string {
	seen := map[string]bool{}
	r.modesMu.RLock()
	for n := range r.modes {
		seen[n] = true
	}
	r.modesMu.RUnlock()
	sharedModes.RLock()
	for n := range sharedModes.m {
		seen[n] = true
	}
	sharedModes.RUnlock()
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *Runner) hasMode(name string) bool { return r.mode(name) != nil }

// mode finds a mode: the runner's own first, then the package's.
func (r *Runner) mode(name string) ModeFunc {
	r.modesMu.RLock()
	fn := r.modes[name]
	r.modesMu.RUnlock()
	if fn != nil {
		return fn
	}
	sharedModes.RLock()
	defer sharedModes.RUnlock()
	return sharedModes.m[name]
}

// sharedModes are modes every Runner knows, registered by programs that
// embed lakehouse (or tests) before or after the server starts.
var sharedModes = struct {
	sync.RWMutex
	m map[string]ModeFunc
}{m: map[string]ModeFunc{}}

// RegisterMode adds a mode to every Runner of the process (a runner's own
// mode of the same name wins). Passing a nil fn removes it.
func RegisterMode(name string, fn ModeFunc) {
	sharedModes.Lock()
	defer sharedModes.Unlock()
	if fn == nil {
		delete(sharedModes.m, name)
		return
	}
	sharedModes.m[name] = fn
}

// Close cancels every running workflow and waits for them to stop.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// Caller identifies who started a run; it is copied onto every node row.
type Caller struct {
	Principal string
	ClientIP  string
}

// Start validates wf and starts it in the background. stop, when not nil,
// also cancels the run when it ends (a synchronous caller's request). A
// bad definition is a 400 APIError naming the problem; a run past
// workflow.max_runs is a 429 with Retry-After.
func (r *Runner) Start(stop context.Context, wf Workflow, who Caller) (*runState, error) {
	p, err := r.validate(wf)
	if err != nil {
		return nil, err
	}
	if r.ctx.Err() != nil {
		return nil, fmt.Errorf("workflow: the runner is shut down")
	}
	r.runsMu.Lock()
	if r.running >= r.cfg.MaxRuns {
		n := r.running
		r.runsMu.Unlock()
		return nil, tooManyRuns(n, r.cfg.MaxRuns)
	}
	r.running++
	r.runsMu.Unlock()
	timeout := r.cfg.WorkflowTimeout.D()
	if wf.TimeoutMS > 0 {
		timeout = time.Duration(wf.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	if stop != nil {
		context.AfterFunc(stop, cancel)
	}
	rs := &runState{
		outputs: map[string]any{}, done: make(chan struct{}),
		run: Run{ID: uuid.NewString(), Workflow: wf.Name, Status: StatusRunning, StartedAt: time.Now().UTC(), Principal: who.Principal},
	}
	for _, n := range wf.Nodes {
		rs.run.Nodes = append(rs.run.Nodes, NodeResult{ID: n.ID, Mode: n.Mode, DependsOn: p.deps[n.ID], Status: StatusPending})
	}
	r.keep(rs)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		r.execute(ctx, rs, p, who)
		r.runsMu.Lock()
		r.running--
		r.trimLocked()
		r.runsMu.Unlock()
	}()
	return rs, nil
}

// keep stores a run for GET, forgetting the oldest finished runs beyond
// workflow.keep_runs and keep_runs_bytes.
func (r *Runner) keep(rs *runState) {
	r.runsMu.Lock()
	defer r.runsMu.Unlock()
	r.runs[rs.run.ID] = rs
	r.order = append(r.order, rs.run.ID)
	r.trimLocked()
}

// trimLocked forgets the oldest finished runs while more than keep_runs
// are kept or their outputs hold more than keep_runs_bytes. Running runs
// are never forgotten (at most max_runs of them).
func (r *Runner) trimLocked() {
	var total int64
	for _, id := range r.order {
		total += r.runs[id].outputBytes()
	}
	for i := 0; (len(r.order) > r.cfg.KeepRuns || total > int64(r.cfg.KeepRunsBytes)) && i < len(r.order); {
		old := r.runs[r.order[i]]
		select {
		case <-old.done:
			total -= old.outputBytes()
			delete(r.runs, r.order[i])
			r.order = slices.Delete(r.order, i, i+1)
		default:
			i++ // still running: keep it
		}
	}
}

func (rs *runState) outputBytes() int64 {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.outBytes
}

// Get returns a run by id.
func (r *Runner) Get(id string) (Run, bool) {
	r.runsMu.Lock()
	rs, ok := r.runs[id]
	r.runsMu.Unlock()
	if !ok {
		return Run{}, false
	}
	return rs.snapshot(), true
}

// List returns the kept runs, newest first, without node outputs.
func (r *Runner) List() []Run {
	r.runsMu.Lock()
	states := make([]*runState, 0, len(r.order))
	for i := len(r.order) - 1; i >= 0; i-- {
		states = append(states, r.runs[r.order[i]])
	}
	r.runsMu.Unlock()
	out := make([]Run, 0, len(states))
	for _, rs := range states {
		run := rs.snapshot()
		for i := range run.Nodes {
			run.Nodes[i].Output = nil
		}
		out = append(out, run)
	}
	return out
}

// execute runs every node in its own goroutine: each waits for its
// dependencies, then either is skipped (a dependency did not succeed) or
// takes a parallelism slot and runs its mode. Independent nodes therefore
// run concurrently, up to workflow.max_parallel.
func (r *Runner) execute(ctx context.Context, rs *runState, p *plan, who Caller) {
	sem := make(chan struct{}, r.cfg.MaxParallel)
	done := make(map[string]chan struct{}, len(p.wf.Nodes))
	for _, n := range p.wf.Nodes {
		done[n.ID] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, n := range p.wf.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n.ID])
			for _, d := range p.deps[n.ID] {
				<-done[d]
			}
			if reason := rs.blockedBy(p.deps[n.ID], p.index); reason != "" {
				r.finish(rs, i, n, who, nil, time.Now(), StatusSkipped, reason)
				return
			}
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				r.finish(rs, i, n, who, nil, time.Now(), StatusFailed, "workflow stopped before the node started: "+ctx.Err().Error())
				return
			}
			start := time.Now()
			rs.mu.Lock()
			rs.run.Nodes[i].Status = StatusRunning
			st := start.UTC()
			rs.run.Nodes[i].StartedAt = &st
			inputs, err := resolve(n.Inputs, "inputs", rs.outputs, newInputBudget(int64(r.cfg.MaxInputBytes)))
			rs.mu.Unlock()
			if err != nil {
				r.finish(rs, i, n, who, nil, start, StatusFailed, err.Error())
				return
			}
			in, _ := inputs.(map[string]any)
			out, size, err := r.call(ctx, n, in)
			if err == nil {
				err = rs.reserveOutput(size, int64(r.cfg.MaxRunOutputBytes))
			}
			if err != nil {
				r.finish(rs, i, n, who, nil, start, StatusFailed, err.Error())
				return
			}
			r.finish(rs, i, n, who, out, start, StatusSucceeded, "")
		}()
	}
	wg.Wait()
	rs.mu.Lock()
	now := time.Now().UTC()
	rs.run.FinishedAt = &now
	rs.run.DurationMS = msSince(rs.run.StartedAt)
	rs.run.Success = true
	for _, nr := range rs.run.Nodes {
		if !nr.Success {
			rs.run.Success = false
		}
	}
	rs.run.Status = StatusSucceeded
	if !rs.run.Success {
		rs.run.Status = StatusFailed
	}
	r.met.run(rs.run.Status)
	rs.mu.Unlock()
	close(rs.done)
}

// reserveOutput counts a node's output against the run's budget.
func (rs *runState) reserveOutput(size, limit int64) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.outBytes+size > limit {
		return fmt.Errorf("the run's node outputs would reach %d bytes with this node's %d; the limit is %d (workflow.max_run_output_bytes)",
			rs.outBytes+size, size, limit)
	}
	rs.outBytes += size
	return nil
}

// blockedBy explains why a node cannot run ("" = it can).
func (rs *runState) blockedBy(deps []string, index map[string]int) string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, d := range deps {
		switch st := rs.run.Nodes[index[d]].Status; st {
		case StatusSucceeded:
		case StatusSkipped:
			return fmt.Sprintf("skipped: dependency %q was skipped", d)
		default:
			return fmt.Sprintf("skipped: dependency %q %s", d, st)
		}
	}
	return ""
}

// call runs a node's mode under its timeout, turning a panic into an
// error, and returns its output as plain JSON data with its encoded size
// (an output above workflow.max_output_bytes fails the node). A mode that
// ignores its context is abandoned at the deadline (its late result is
// discarded), so one stuck mode cannot hang the run. A mode limited across
// runs (limitMode) waits for a slot first, and holds it until it returns.
func (r *Runner) call(ctx context.Context, n Node, in map[string]any) (any, int64, error) {
	timeout := r.cfg.NodeTimeout.D()
	if n.TimeoutMS > 0 {
		timeout = time.Duration(n.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fn := r.mode(n.Mode)
	if fn == nil {
		return nil, 0, fmt.Errorf("mode %q is no longer registered", n.Mode)
	}
	release, err := r.acquireSlot(ctx, n.Mode)
	if err != nil {
		return nil, 0, err
	}
	type result struct {
		out any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer release()
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("workflow: mode panicked", "mode", n.Mode, "node", n.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				ch <- result{err: fmt.Errorf("mode %q panicked: %v", n.Mode, p)}
			}
		}()
		if in == nil {
			in = map[string]any{}
		}
		out, err := fn(ctx, Inputs(in))
		ch <- result{out, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return nil, 0, res.err
		}
		return normalizeOutput(res.out, int64(r.cfg.MaxOutputBytes))
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return nil, 0, fmt.Errorf("node timed out after %s", timeout)
		}
		return nil, 0, fmt.Errorf("node cancelled: %w", ctx.Err())
	}
}

// normalizeOutput turns a mode's Go value into plain JSON data (maps,
// slices, float64...), the shape references walk, and returns its encoded
// size; above limit the node fails (it is kept, shown and referenced).
func normalizeOutput(v any, limit int64) (any, int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, 0, fmt.Errorf("mode output is not JSON-encodable: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, 0, fmt.Errorf("the node's output is %d bytes; the limit is %d (workflow.max_output_bytes)", len(b), limit)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, 0, fmt.Errorf("mode output: %w", err)
	}
	return out, int64(len(b)), nil
}

// finish records a node's audit row, then publishes its result and output
// to the run (so a dependant reading the output and a GET both see the
// row already recorded).
func (r *Runner) finish(rs *runState, i int, n Node, who Caller, out any, start time.Time, status, errText string) {
	errText = clipError(errText)
	dur := msSince(start)
	if status == StatusSkipped {
		dur = 0
	}
	rs.mu.Lock()
	runID, wfName := rs.run.ID, rs.run.Workflow
	rs.mu.Unlock()
	r.met.node(status)
	ev := r.rec.Record(observer.Event{
		Timestamp: start, Source: observer.SourceWorkflow, Endpoint: "workflow/" + n.Mode,
		Success: status == StatusSucceeded, DurationMS: dur, Error: errText,
		Principal: who.Principal, ClientIP: who.ClientIP,
		Module: "workflow", Workflow: wfName, RunID: runID, Node: n.ID, Mode: n.Mode,
		Fields: map[string]any{"node_status": status},
	})
	rs.mu.Lock()
	defer rs.mu.Unlock()
	nr := &rs.run.Nodes[i]
	nr.Status, nr.Success, nr.Error, nr.DurationMS, nr.EventID = status, status == StatusSucceeded, errText, dur, ev.ID
	if status == StatusSucceeded {
		nr.Output = out
		rs.outputs[n.ID] = out
	}
}

// maxNodeError caps a node's error text (a mode may quote its whole
// input): it is copied into the audit row and the run.
const maxNodeError = 8 << 10

func clipError(s string) string {
	if len(s) <= maxNodeError {
		return s
	}
	return strings.ToValidUTF8(s[:maxNodeError], "") + fmt.Sprintf("… (%d bytes cut)", len(s)-maxNodeError)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
