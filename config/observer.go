package config

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ObserverConfig tunes the audit witness: the in-memory ring, its
// persistence through storage and the SQL-visible Parquet copy. (The
// workflow runner's keys are in [workflow].)
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
	// Deprecated workflow keys: they moved to [workflow]. A file that
	// still sets one here is read (the value moves to [workflow] when
	// that key is left at its default) and a warning says so.
	DeprecatedNodeTimeout        Duration `toml:"node_timeout"`         // deprecated: now workflow.node_timeout (read, with a warning)
	DeprecatedWorkflowTimeout    Duration `toml:"workflow_timeout"`     // deprecated: now workflow.workflow_timeout (read, with a warning)
	DeprecatedMaxParallel        int      `toml:"max_parallel"`         // deprecated: now workflow.max_parallel (read, with a warning)
	DeprecatedMaxNodes           int      `toml:"max_nodes"`            // deprecated: now workflow.max_nodes (read, with a warning)
	DeprecatedKeepRuns           int      `toml:"keep_runs"`            // deprecated: now workflow.keep_runs (read, with a warning)
	DeprecatedKeepRunsBytes      ByteSize `toml:"keep_runs_bytes"`      // deprecated: now workflow.keep_runs_bytes (read, with a warning)
	DeprecatedMaxRuns            int      `toml:"max_runs"`             // deprecated: now workflow.max_runs (read, with a warning)
	DeprecatedMaxNodeTimeout     Duration `toml:"max_node_timeout"`     // deprecated: now workflow.max_node_timeout (read, with a warning)
	DeprecatedMaxWorkflowTimeout Duration `toml:"max_workflow_timeout"` // deprecated: now workflow.max_workflow_timeout (read, with a warning)
	DeprecatedMaxInputBytes      ByteSize `toml:"max_input_bytes"`      // deprecated: now workflow.max_input_bytes (read, with a warning)
	DeprecatedMaxOutputBytes     ByteSize `toml:"max_output_bytes"`     // deprecated: now workflow.max_output_bytes (read, with a warning)
	DeprecatedMaxRunOutputBytes  ByteSize `toml:"max_run_output_bytes"` // deprecated: now workflow.max_run_output_bytes (read, with a warning)
	DeprecatedMaxSQLNodes        int      `toml:"max_sql_nodes"`        // deprecated: now workflow.max_sql_nodes (read, with a warning)
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
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", p.name))
		}
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
