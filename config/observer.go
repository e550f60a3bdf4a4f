package config

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ObserverConfig tunes the audit witness: the in-memory ring, its
// persistence through storage, the SQL-visible Parquet copy and the
// workflow runner.
type ObserverConfig struct {
	// RingSize is how many events the in-memory ring keeps (the original
	// kept 2000); the oldest is evicted, and counted, when it is full.
	RingSize int `toml:"ring_size"`
	// RingMaxBytes also bounds the ring by the events' encoded size, so a
	// burst of large events cannot hold gigabytes (0 = no byte bound).
	RingMaxBytes ByteSize `toml:"ring_max_bytes"`
	// MaxEventBytes caps one POST /v1/observer/event body (413 above it).
	MaxEventBytes ByteSize `toml:"max_event_bytes"`
	// Persist writes events to storage as JSONL segments and replays them
	// at start. Off = ring only.
	Persist bool `toml:"persist"`
	// FlushInterval is how often pending events become a segment; a crash
	// loses at most this much (a clean stop flushes everything).
	FlushInterval Duration `toml:"flush_interval"`
	// FlushEvents flushes early once this many events are pending.
	FlushEvents int `toml:"flush_events"`
	// MaxPending bounds events waiting for a failing store; beyond it the
	// oldest pending are dropped and counted as persist failures.
	MaxPending int `toml:"max_pending"`
	// CompactSegments merges segments once this many small ones exist.
	CompactSegments int `toml:"compact_segments"`
	// Dataset is the catalog dataset the events are published to as
	// Parquet (when the catalog module runs); "" disables it.
	Dataset string `toml:"dataset"`
	// ParquetInterval is how often new events are written as a Parquet
	// part and registered in the catalog.
	ParquetInterval Duration `toml:"parquet_interval"`
	// ParquetCompactFiles rewrites the dataset as one file once a version
	// has this many parts.
	ParquetCompactFiles int `toml:"parquet_compact_files"`
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
	// MaxJSONDepth caps how deeply an event or workflow body may nest
	// objects and arrays (400 above it), so everything acknowledged can
	// be decoded again at replay.
	MaxJSONDepth int `toml:"max_json_depth"`
}

func defaultObserver() ObserverConfig {
	return ObserverConfig{
		RingSize:            2000,
		RingMaxBytes:        256 << 20,
		MaxEventBytes:       4 << 20,
		Persist:             true,
		FlushInterval:       Duration(time.Second),
		FlushEvents:         512,
		MaxPending:          100_000,
		CompactSegments:     64,
		Dataset:             "observer_events",
		ParquetInterval:     Duration(10 * time.Second),
		ParquetCompactFiles: 32,
		NodeTimeout:         Duration(60 * time.Second),
		WorkflowTimeout:     Duration(10 * time.Minute),
		MaxParallel:         4,
		MaxNodes:            256,
		KeepRuns:            200,
		KeepRunsBytes:       256 << 20,
		MaxRuns:             8,
		MaxNodeTimeout:      Duration(10 * time.Minute),
		MaxWorkflowTimeout:  Duration(time.Hour),
		MaxInputBytes:       16 << 20,
		MaxOutputBytes:      16 << 20,
		MaxRunOutputBytes:   64 << 20,
		MaxJSONDepth:        512,
	}
}

var observerDatasetName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate checks the observer section.
func (c *ObserverConfig) Validate() error {
	var errs []error
	positive := []struct {
		name string
		v    int64
	}{
		{"ring_size", int64(c.RingSize)}, {"max_event_bytes", int64(c.MaxEventBytes)},
		{"flush_interval", int64(c.FlushInterval)}, {"flush_events", int64(c.FlushEvents)},
		{"max_pending", int64(c.MaxPending)}, {"compact_segments", int64(c.CompactSegments)},
		{"parquet_interval", int64(c.ParquetInterval)}, {"parquet_compact_files", int64(c.ParquetCompactFiles)},
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
	if c.MaxJSONDepth < 1 || c.MaxJSONDepth > maxJSONDepthLimit {
		errs = append(errs, fmt.Errorf("max_json_depth: must be between 1 and %d", maxJSONDepthLimit))
	}
	if c.RingMaxBytes < 0 {
		errs = append(errs, errors.New("ring_max_bytes: must not be negative"))
	}
	if c.CompactSegments == 1 {
		errs = append(errs, errors.New("compact_segments: must be at least 2"))
	}
	if c.Dataset != "" && !observerDatasetName.MatchString(c.Dataset) {
		errs = append(errs, fmt.Errorf("dataset: %q is not a valid dataset name (lowercase letters, digits, _)", c.Dataset))
	}
	return errors.Join(errs...)
}
