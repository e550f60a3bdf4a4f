package config

import "errors"

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
