package config

import (
	"errors"
	"fmt"
	"time"
)

// VectorConfig tunes the vector indexes.
type VectorConfig struct {
	// CompactWALBytes triggers a snapshot when an index's WAL (the batches
	// acknowledged since its last snapshot) grows past it; 0 disables
	// size-triggered compaction.
	CompactWALBytes ByteSize `toml:"compact_wal_bytes"`
	// CompactInterval snapshots an index whose oldest un-snapshotted batch
	// is older than this, so a quiet index restarts from one file; 0
	// disables time-triggered compaction.
	CompactInterval Duration `toml:"compact_interval"`
	// MaxBatchBytes caps the JSON body of one add request.
	MaxBatchBytes ByteSize `toml:"max_batch_bytes"`
	// MaxBatchItems caps the items of one add from any caller (HTTP,
	// workflows, pathway, the dataset pipeline); more is refused (413 on
	// the add route). One batch is one WAL segment, validated and held in
	// memory whole.
	MaxBatchItems int `toml:"max_batch_items"`
	// MaxK caps the k of one search (results held and returned at once).
	MaxK int `toml:"max_k"`
	// MaxEf caps a search's candidate list (ef) and an index's ef_search;
	// the work and memory of one search grow with it.
	MaxEf int `toml:"max_ef"`
}

func defaultVector() VectorConfig {
	return VectorConfig{
		CompactWALBytes: 64 << 20,
		CompactInterval: Duration(10 * time.Minute),
		MaxBatchBytes:   256 << 20,
		MaxBatchItems:   100000,
		MaxK:            10000,
		MaxEf:           100000,
	}
}

// Validate checks the vector section.
func (c *VectorConfig) Validate() error {
	var errs []error
	if c.CompactWALBytes < 0 {
		errs = append(errs, errors.New("compact_wal_bytes must not be negative"))
	}
	if c.CompactInterval < 0 {
		errs = append(errs, errors.New("compact_interval must not be negative"))
	}
	if c.MaxBatchBytes < 1<<10 {
		errs = append(errs, errors.New("max_batch_bytes must be at least 1KiB"))
	}
	if c.MaxBatchItems < 1 || c.MaxBatchItems > 10_000_000 {
		errs = append(errs, fmt.Errorf("max_batch_items must be in [1, 10000000], got %d", c.MaxBatchItems))
	}
	if c.MaxK < 1 || c.MaxK > 1_000_000 {
		errs = append(errs, fmt.Errorf("max_k must be in [1, 1000000], got %d", c.MaxK))
	}
	if c.MaxEf < 1 || c.MaxEf > 10_000_000 {
		errs = append(errs, fmt.Errorf("max_ef must be in [1, 10000000], got %d", c.MaxEf))
	}
	return errors.Join(errs...)
}
