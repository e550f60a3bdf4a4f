package config

import (
	"errors"
	"fmt"
	"time"
)

// WorkflowConfig tunes the workflow runner: node and run timeouts, how
// much runs in parallel, how many runs are kept, and the caps on what
// flows between nodes. (These keys used to live in [observer]; a file
// that still sets them there is read, with a warning.)
type WorkflowConfig struct {
	// NodeTimeout is a workflow node's default timeout.
	NodeTimeout Duration `toml:"node_timeout"`
	// WorkflowTimeout bounds a whole workflow run.
	WorkflowTimeout Duration `toml:"workflow_timeout"`
	// MaxParallel is how many nodes of one workflow run at once.
	MaxParallel int `toml:"max_parallel"`
	// MaxNodes caps a workflow's node count.
	MaxNodes int `toml:"max_nodes"`
	// KeepRuns is how many finished workflow runs GET can still return.
	KeepRuns int `toml:"keep_runs"`
	// KeepRunsBytes also bounds the kept runs by their nodes' outputs: the
	// oldest finished runs are forgotten beyond it.
	KeepRunsBytes ByteSize `toml:"keep_runs_bytes"`
	// MaxRuns caps the workflow runs in progress at once, synchronous and
	// async together; one more answers 429 with Retry-After.
	MaxRuns int `toml:"max_runs"`
	// MaxNodeTimeout is the largest timeout_ms a node may ask for (400
	// above it).
	MaxNodeTimeout Duration `toml:"max_node_timeout"`
	// MaxWorkflowTimeout is the largest timeout_ms a run may ask for (400
	// above it).
	MaxWorkflowTimeout Duration `toml:"max_workflow_timeout"`
	// MaxInputBytes caps one node's inputs once references are resolved,
	// counted while they are resolved (a reference repeated 4000 times
	// to a 1 MB output fails the node instead of building 4 GB).
	MaxInputBytes ByteSize `toml:"max_input_bytes"`
	// MaxOutputBytes caps one node's output, as JSON (the node fails
	// above it).
	MaxOutputBytes ByteSize `toml:"max_output_bytes"`
	// MaxRunOutputBytes caps the outputs of all nodes of one run together.
	MaxRunOutputBytes ByteSize `toml:"max_run_output_bytes"`
	// MaxSQLNodes is how many sql nodes may run at once across all
	// workflow runs, so runs never take the whole query pool from
	// interactive SQL; 0 = half of query.max_concurrent (at least 1).
	MaxSQLNodes int `toml:"max_sql_nodes"`
}

func defaultWorkflow() WorkflowConfig {
	return WorkflowConfig{
		NodeTimeout:        Duration(60 * time.Second),
		WorkflowTimeout:    Duration(10 * time.Minute),
		MaxParallel:        4,
		MaxNodes:           256,
		KeepRuns:           200,
		KeepRunsBytes:      256 << 20,
		MaxRuns:            8,
		MaxNodeTimeout:     Duration(10 * time.Minute),
		MaxWorkflowTimeout: Duration(time.Hour),
		MaxInputBytes:      16 << 20,
		MaxOutputBytes:     16 << 20,
		MaxRunOutputBytes:  64 << 20,
	}
}

// Validate checks the workflow section.
func (c *WorkflowConfig) Validate() error {
	var errs []error
	positive := []struct {
		name string
		v    int64
	}{
		{"node_timeout", int64(c.NodeTimeout)}, {"workflow_timeout", int64(c.WorkflowTimeout)},
		{"max_parallel", int64(c.MaxParallel)}, {"max_nodes", int64(c.MaxNodes)}, {"keep_runs", int64(c.KeepRuns)},
		{"keep_runs_bytes", int64(c.KeepRunsBytes)}, {"max_runs", int64(c.MaxRuns)},
		{"max_input_bytes", int64(c.MaxInputBytes)}, {"max_output_bytes", int64(c.MaxOutputBytes)},
		{"max_run_output_bytes", int64(c.MaxRunOutputBytes)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", p.name))
		}
	}
	if c.NodeTimeout > c.MaxNodeTimeout {
		errs = append(errs, fmt.Errorf("max_node_timeout: %s is shorter than node_timeout %s", c.MaxNodeTimeout.D(), c.NodeTimeout.D()))
	}
	if c.WorkflowTimeout > c.MaxWorkflowTimeout {
		errs = append(errs, fmt.Errorf("max_workflow_timeout: %s is shorter than workflow_timeout %s", c.MaxWorkflowTimeout.D(), c.WorkflowTimeout.D()))
	}
	if c.MaxOutputBytes > c.MaxRunOutputBytes {
		errs = append(errs, errors.New("max_run_output_bytes: must be at least max_output_bytes"))
	}
	if c.MaxSQLNodes < 0 {
		errs = append(errs, errors.New("max_sql_nodes: must be 0 (half of query.max_concurrent) or positive"))
	}
	return errors.Join(errs...)
}

// moveObserverWorkflowKeys applies the workflow keys a file still sets in
// [observer]: each moves to [workflow] unless that key was set there too
// (then [workflow] wins). It returns one warning per key found.
func (c *Config) moveObserverWorkflowKeys() []string {
	o, w, def := &c.Observer, &c.Workflow, defaultWorkflow()
	var warns []string
	warn := func(key string, moved, found bool) {
		switch {
		case moved:
			warns = append(warns, fmt.Sprintf("observer.%s is deprecated: it is now workflow.%s (applied; move it to [workflow])", key, key))
		case found:
			warns = append(warns, fmt.Sprintf("observer.%s is deprecated and ignored: workflow.%s is set too", key, key))
		}
	}
	m, f := moveKey(&w.NodeTimeout, o.DeprecatedNodeTimeout, def.NodeTimeout)
	warn("node_timeout", m, f)
	m, f = moveKey(&w.WorkflowTimeout, o.DeprecatedWorkflowTimeout, def.WorkflowTimeout)
	warn("workflow_timeout", m, f)
	m, f = moveKey(&w.MaxParallel, o.DeprecatedMaxParallel, def.MaxParallel)
	warn("max_parallel", m, f)
	m, f = moveKey(&w.MaxNodes, o.DeprecatedMaxNodes, def.MaxNodes)
	warn("max_nodes", m, f)
	m, f = moveKey(&w.KeepRuns, o.DeprecatedKeepRuns, def.KeepRuns)
	warn("keep_runs", m, f)
	m, f = moveKey(&w.KeepRunsBytes, o.DeprecatedKeepRunsBytes, def.KeepRunsBytes)
	warn("keep_runs_bytes", m, f)
	m, f = moveKey(&w.MaxRuns, o.DeprecatedMaxRuns, def.MaxRuns)
	warn("max_runs", m, f)
	m, f = moveKey(&w.MaxNodeTimeout, o.DeprecatedMaxNodeTimeout, def.MaxNodeTimeout)
	warn("max_node_timeout", m, f)
	m, f = moveKey(&w.MaxWorkflowTimeout, o.DeprecatedMaxWorkflowTimeout, def.MaxWorkflowTimeout)
	warn("max_workflow_timeout", m, f)
	m, f = moveKey(&w.MaxInputBytes, o.DeprecatedMaxInputBytes, def.MaxInputBytes)
	warn("max_input_bytes", m, f)
	m, f = moveKey(&w.MaxOutputBytes, o.DeprecatedMaxOutputBytes, def.MaxOutputBytes)
	warn("max_output_bytes", m, f)
	m, f = moveKey(&w.MaxRunOutputBytes, o.DeprecatedMaxRunOutputBytes, def.MaxRunOutputBytes)
	warn("max_run_output_bytes", m, f)
	m, f = moveKey(&w.MaxSQLNodes, o.DeprecatedMaxSQLNodes, def.MaxSQLNodes)
	warn("max_sql_nodes", m, f)
	return warns
}

// moveKey moves an old key's value to cur when the old one is set (not
// zero) and cur is still its default; found says the old key was set.
func moveKey[T comparable](cur *T, old, dflt T) (moved, found bool) {
	var zero T
	if old == zero {
		return false, false
	}
	if *cur == dflt {
		*cur = old
		return true, true
	}
	return false, true
}
