package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// withLimitDefaults fills the workflow limits a hand-built configuration
// left at zero (a program embedding the runner) with the defaults, so a
// zero never means "no run may start" or "no limit".
func withLimitDefaults(cfg config.WorkflowConfig) config.WorkflowConfig {
	def := config.Default().Workflow
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = def.MaxRuns
	}
	if cfg.MaxNodeTimeout <= 0 {
		cfg.MaxNodeTimeout = max(def.MaxNodeTimeout, cfg.NodeTimeout)
	}
	if cfg.MaxWorkflowTimeout <= 0 {
		cfg.MaxWorkflowTimeout = max(def.MaxWorkflowTimeout, cfg.WorkflowTimeout)
	}
	if cfg.MaxInputBytes <= 0 {
		cfg.MaxInputBytes = def.MaxInputBytes
	}
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = def.MaxOutputBytes
	}
	if cfg.MaxRunOutputBytes <= 0 {
		cfg.MaxRunOutputBytes = max(def.MaxRunOutputBytes, cfg.MaxOutputBytes)
	}
	if cfg.KeepRunsBytes <= 0 {
		cfg.KeepRunsBytes = def.KeepRunsBytes
	}
	return cfg
}

// runsRetryAfter is the Retry-After of a 429 for too many runs: runs
// last seconds to minutes, so a client should not hammer.
const runsRetryAfter = 5

// tooManyRuns is the 429 a run past workflow.max_runs answers.
func tooManyRuns(running, limit int) *kit.APIError {
	e := kit.Errorf(http.StatusTooManyRequests, "too_many_runs",
		"%d workflow runs are in progress; at most %d may run at once (workflow.max_runs): retry later", running, limit).
		WithDetails(map[string]any{"running": running, "max_runs": limit})
	e.Header = http.Header{"Retry-After": []string{strconv.Itoa(runsRetryAfter)}}
	return e
}

// checkTimeout refuses a timeout_ms above the configured maximum, before
// it is turned into a Duration (10^12 ms would otherwise be accepted, and
// larger values overflow).
func checkTimeout(ms int, limit config.Duration, key, node string) error {
	if ms < 0 {
		if node == "" {
			return badWorkflow("bad_timeout", "", "timeout_ms must not be negative")
		}
		return badWorkflow("bad_timeout", node, "node %q: timeout_ms must not be negative", node)
	}
	if limitMS := limit.D().Milliseconds(); int64(ms) > limitMS {
		if node == "" {
			return badWorkflow("bad_timeout", "", "timeout_ms %d is above the limit of %d ms (observer.%s)", ms, limitMS, key)
		}
		return badWorkflow("bad_timeout", node, "node %q: timeout_ms %d is above the limit of %d ms (observer.%s)", node, ms, limitMS, key)
	}
	return nil
}

// inputBudget counts the JSON bytes of one node's inputs while they are
// resolved, so a reference repeated thousands of times to a large output
// fails the node after max bytes instead of building them all.
type inputBudget struct {
	left, max int64
}

func newInputBudget(limit int64) *inputBudget { return &inputBudget{left: limit, max: limit} }

func (b *inputBudget) spend(n int) bool {
	b.left -= int64(n)
	return b.left >= 0
}

// add counts v's encoded size (about: strings without escapes), stopping
// as soon as the budget is spent; it reports whether v fit.
func (b *inputBudget) add(v any) bool {
	switch t := v.(type) {
	case nil:
		return b.spend(4)
	case bool:
		return b.spend(5)
	case string:
		return b.spend(len(t) + 2)
	case float64:
		var buf [32]byte
		return b.spend(len(strconv.AppendFloat(buf[:0], t, 'g', -1, 64)))
	case json.Number:
		return b.spend(len(t))
	case map[string]any:
		if !b.spend(2) {
			return false
		}
		for k, e := range t {
			if !b.spend(len(k)+4) || !b.add(e) {
				return false
			}
		}
		return true
	case []any:
		if !b.spend(2) {
			return false
		}
		for _, e := range t {
			if !b.spend(1) || !b.add(e) {
				return false
			}
		}
		return true
	}
	// Not JSON-shaped (a Go value a program put in): its encoding is
	// the size.
	enc, err := json.Marshal(v)
	if err != nil {
		return b.spend(0)
	}
	return b.spend(len(enc))
}

// exceeded is the error of a node whose inputs outgrew the budget.
func (b *inputBudget) exceeded(where string) error {
	return fmt.Errorf("%s: the node's inputs exceed %d bytes once references are resolved (workflow.max_input_bytes)", where, b.max)
}

// limitMode caps how many nodes of a mode run at once across every run
// of this runner (sql: so workflows never hold the whole query pool).
func (r *Runner) limitMode(name string, n int) {
	r.modesMu.Lock()
	defer r.modesMu.Unlock()
	if n <= 0 {
		delete(r.slots, name)
		return
	}
	r.slots[name] = make(chan struct{}, n)
}

// acquireSlot waits for a slot of a limited mode; release (nil when the
// mode is not limited) gives it back.
func (r *Runner) acquireSlot(ctx context.Context, mode string) (release func(), err error) {
	r.modesMu.RLock()
	slots := r.slots[mode]
	r.modesMu.RUnlock()
	if slots == nil {
		return func() {}, nil
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("node waited for one of the %d %s slots shared by all workflow runs and did not get one: %w", cap(slots), mode, ctx.Err())
	}
}
