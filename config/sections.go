package config

import "errors"

// The sections below start small; each module's owner grows its own
// section (and may move it to its own file) with defaults and Validate.

// CatalogConfig tunes the dataset catalog and its metadata database.
type CatalogConfig struct {
	// MetaDB is the metadata database file, relative to data_dir.
	MetaDB string `toml:"meta_db"`
}

func defaultCatalog() CatalogConfig { return CatalogConfig{MetaDB: "meta.duckdb"} }

// Validate checks the catalog section.
func (c *CatalogConfig) Validate() error {
	if c.MetaDB == "" {
		return errors.New("meta_db: must not be empty")
	}
	return nil
}

// IngestConfig tunes CSV → Parquet ingest.
type IngestConfig struct {
	// MaxUpload caps one uploaded CSV.
	MaxUpload ByteSize `toml:"max_upload"`
	// SampleRows is how many rows type inference looks at.
	SampleRows int `toml:"sample_rows"`
}

func defaultIngest() IngestConfig { return IngestConfig{MaxUpload: 8 << 30, SampleRows: 10000} }

// Validate checks the ingest section.
func (c *IngestConfig) Validate() error {
	if c.SampleRows <= 0 {
		return errors.New("sample_rows: must be positive")
	}
	return nil
}

// QueryConfig tunes the read-only SQL engine.
type QueryConfig struct {
	// Timeout is the default per-query timeout.
	Timeout Duration `toml:"timeout"`
	// MaxRows caps json answers (streams are not capped).
	MaxRows int `toml:"max_rows"`
	// MemoryLimit is DuckDB's memory_limit, e.g. "2GB"; empty = DuckDB's default.
	MemoryLimit string `toml:"memory_limit"`
	// Threads is DuckDB's thread count; 0 = DuckDB's default.
	Threads int `toml:"threads"`
}

func defaultQuery() QueryConfig { return QueryConfig{Timeout: Duration(30e9), MaxRows: 10000} }

// Validate checks the query section.
func (c *QueryConfig) Validate() error {
	if c.MaxRows <= 0 {
		return errors.New("max_rows: must be positive")
	}
	return nil
}

// VectorConfig tunes the vector indexes.
type VectorConfig struct {
	// CompactWALBytes triggers a snapshot when an index's WAL grows past it.
	CompactWALBytes ByteSize `toml:"compact_wal_bytes"`
}

func defaultVector() VectorConfig { return VectorConfig{CompactWALBytes: 64 << 20} }

// Validate checks the vector section.
func (c *VectorConfig) Validate() error { return nil }

// EmbedConfig selects the embedding provider.
type EmbedConfig struct {
	// Provider is builtin, ollama or openai.
	Provider string `toml:"provider"`
	// CacheSize is the LRU cache's entry count; 0 turns it off.
	CacheSize int `toml:"cache_size"`
}

func defaultEmbed() EmbedConfig { return EmbedConfig{Provider: "builtin", CacheSize: 10000} }

// Validate checks the embed section.
func (c *EmbedConfig) Validate() error { return nil }

// PathwayConfig tunes the trace memory.
type PathwayConfig struct {
	// Log is the JSONL log file, relative to data_dir.
	Log string `toml:"log"`
}

func defaultPathway() PathwayConfig { return PathwayConfig{Log: "pathway/traces.jsonl"} }

// Validate checks the pathway section.
func (c *PathwayConfig) Validate() error { return nil }

// ObserverConfig tunes the audit witness.
type ObserverConfig struct {
	// RingSize is how many events the in-memory ring keeps.
	RingSize int `toml:"ring_size"`
}

func defaultObserver() ObserverConfig { return ObserverConfig{RingSize: 2000} }

// Validate checks the observer section.
func (c *ObserverConfig) Validate() error {
	if c.RingSize <= 0 {
		return errors.New("ring_size: must be positive")
	}
	return nil
}
