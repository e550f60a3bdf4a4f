package config

// VectorConfig tunes the vector indexes.
type VectorConfig struct {
	// CompactWALBytes triggers a snapshot when an index's WAL grows past it.
	CompactWALBytes ByteSize `toml:"compact_wal_bytes"`
}

func defaultVector() VectorConfig { return VectorConfig{CompactWALBytes: 64 << 20} }

// Validate checks the vector section.
func (c *VectorConfig) Validate() error { return nil }
