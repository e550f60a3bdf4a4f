package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// QueryConfig tunes the read-only SQL engine.
type QueryConfig struct {
	// Timeout is the default per-query timeout (a request's timeout_ms
	// may ask for less or more, up to MaxTimeout).
	Timeout Duration `toml:"timeout"`
	// MaxTimeout caps a request's timeout_ms.
	MaxTimeout Duration `toml:"max_timeout"`
	// MaxRows caps json answers (streams are not capped).
	MaxRows int `toml:"max_rows"`
	// MemoryLimit is DuckDB's memory_limit, e.g. "2GB"; empty = DuckDB's default.
	MemoryLimit string `toml:"memory_limit"`
	// Threads is DuckDB's thread count; 0 = DuckDB's default.
	Threads int `toml:"threads"`
	// MaxConcurrent is the size of the connection pool: at most this many
	// queries run at once, later ones wait (within their timeout).
	MaxConcurrent int `toml:"max_concurrent"`
	// CacheSize bounds the local read-through cache of Parquet objects
	// used when storage is S3 (least recently used parts are evicted).
	CacheSize ByteSize `toml:"cache_size"`
}

func defaultQuery() QueryConfig {
	return QueryConfig{
		Timeout:       Duration(30 * time.Second),
		MaxTimeout:    Duration(10 * time.Minute),
		MaxRows:       10000,
		MaxConcurrent: 8,
		CacheSize:     2 << 30,
	}
}

// Validate checks the query section.
func (c *QueryConfig) Validate() error {
	var errs []error
	if c.MaxRows <= 0 {
		errs = append(errs, errors.New("max_rows: must be positive"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if c.MaxTimeout < c.Timeout {
		errs = append(errs, fmt.Errorf("max_timeout: %s is shorter than timeout %s", c.MaxTimeout.D(), c.Timeout.D()))
	}
	if c.Threads < 0 {
		errs = append(errs, errors.New("threads: must be 0 (DuckDB's default) or positive"))
	}
	if c.MaxConcurrent <= 0 {
		errs = append(errs, errors.New("max_concurrent: must be positive"))
	}
	if c.CacheSize <= 0 {
		errs = append(errs, errors.New("cache_size: must be positive"))
	}
	// memory_limit is spliced into a SET statement: only sizes like
	// "2GB", "512MiB" or "80%" are accepted.
	if m := strings.TrimSpace(c.MemoryLimit); m != "" {
		for _, r := range m {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '%' || r == ' ') {
				errs = append(errs, fmt.Errorf("memory_limit: %q is not a size such as 2GB or 80%%", c.MemoryLimit))
				break
			}
		}
	}
	return errors.Join(errs...)
}
