package config

import (
	"errors"
	"fmt"
	"regexp"
)

// PathwayConfig tunes the trace memory.
type PathwayConfig struct {
	// Log is the JSONL log file, relative to data_dir (an absolute path
	// is used as is). With storage.backend = "s3" the log lives in the
	// bucket (under _pathway/) and this file is only a local copy.
	Log string `toml:"log"`
	// MaxBody caps a pathway request body (413 above it); the original
	// capped at 4 MiB whatever the server-wide default is.
	MaxBody ByteSize `toml:"max_body"`
	// CompactBytes triggers an automatic compaction once the log is larger
	// than this AND at least twice its size after the last compaction
	// (0 = never automatically; `lakehouse pathway compact` still works).
	// With storage.backend = "s3" the log lives in the bucket and is also
	// compacted once 1024 segments follow its snapshot, whatever this says,
	// so a new node's start reads a bounded number of objects.
	CompactBytes ByteSize `toml:"compact_bytes"`
	// Semantic ranks searches with the embed and vector modules when both
	// run; off (or either missing) = lexical ranking only.
	Semantic bool `toml:"semantic"`
	// VectorIndex is the vector index the pathway module owns for
	// semantic search.
	VectorIndex string `toml:"vector_index"`
	// MaxJSONDepth caps how deeply a trace's content may nest objects and
	// arrays (400 above it). It keeps every acknowledged record far below
	// the JSON decoder's own limit of 10000 levels, so replay reads back
	// everything a write acknowledged.
	MaxJSONDepth int `toml:"max_json_depth"`
}

func defaultPathway() PathwayConfig {
	return PathwayConfig{
		Log:          "pathway/traces.jsonl",
		MaxBody:      4 << 20,
		CompactBytes: 64 << 20,
		Semantic:     true,
		VectorIndex:  "_pathway",
		MaxJSONDepth: 512,
	}
}

// maxJSONDepthLimit is the largest max_json_depth a section may set: a
// stored value sits inside a record (a few levels more), and the whole
// record must stay below encoding/json's 10000-level limit.
const maxJSONDepthLimit = 9000

var pathwayIndexName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Validate checks the pathway section.
func (c *PathwayConfig) Validate() error {
	var errs []error
	if c.Log == "" {
		errs = append(errs, errors.New("log: must not be empty"))
	}
	if c.MaxBody <= 0 {
		errs = append(errs, errors.New("max_body: must be positive"))
	}
	if c.CompactBytes < 0 {
		errs = append(errs, errors.New("compact_bytes: must not be negative"))
	}
	if c.MaxJSONDepth < 1 || c.MaxJSONDepth > maxJSONDepthLimit {
		errs = append(errs, fmt.Errorf("max_json_depth: must be between 1 and %d", maxJSONDepthLimit))
	}
	if c.Semantic && !pathwayIndexName.MatchString(c.VectorIndex) {
		errs = append(errs, fmt.Errorf("vector_index: %q is not a valid index name", c.VectorIndex))
	}
	return errors.Join(errs...)
}
