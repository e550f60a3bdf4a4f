package config

import (
	"errors"
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
}

func defaultVector() VectorConfig {
	return VectorConfig{
		CompactWALBytes: 64 << 20,
		CompactInterval: Duration(10 * time.Minute),
		MaxBatchBytes:   256 << 20,
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
	return errors.Join(errs...)
}
