package config

import (
	"errors"
	"fmt"
	"strconv"
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
	// MaxRows caps the rows of a json answer (streams are capped in bytes only).
	MaxRows int `toml:"max_rows"`
	// MaxResultBytes caps a json answer (and a result handed to workflows)
	// in encoded bytes; past it the answer stops at the last whole row and
	// says "truncated": true with the reason. One huge value (a 1 GB
	// string or list) is never encoded whole.
	MaxResultBytes ByteSize `toml:"max_result_bytes"`
	// MaxStreamBytes caps an ndjson, csv or arrow answer in bytes; a
	// capped stream ends at the last whole row (ndjson: a final
	// {"truncated": true, ...} line) and sets the X-Lakehouse-Truncated
	// trailer.
	MaxStreamBytes ByteSize `toml:"max_stream_bytes"`
	// MaxSQLBytes caps the SQL text of one request (413 past it): DuckDB's
	// parse and plan time and memory grow with the text, and planning
	// cannot always be interrupted by the timeout.
	MaxSQLBytes ByteSize `toml:"max_sql_bytes"`
	// MaxSelectBlocks caps the SELECT blocks (UNION branches, subqueries,
	// CTEs) of one statement (400 past it): DuckDB's planning time grows
	// faster than linearly with them (6 000 UNION ALL branches: 3 s,
	// beyond a 500 ms timeout).
	MaxSelectBlocks int `toml:"max_select_blocks"`
	// MemoryLimit is DuckDB's memory_limit: a size such as "2GB", or a
	// percentage of the machine's memory (the cgroup limit when set) such
	// as "40%". A query past it fails with 503 out_of_memory; aggregates,
	// joins and sorts spill to the temp dir first.
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
		Timeout:         Duration(30 * time.Second),
		MaxTimeout:      Duration(10 * time.Minute),
		MaxRows:         10000,
		MaxResultBytes:  64 << 20,
		MaxStreamBytes:  1 << 30,
		MaxSQLBytes:     256 << 10,
		MaxSelectBlocks: 1000,
		MemoryLimit:     "40%",
		MaxConcurrent:   8,
		CacheSize:       2 << 30,
	}
}

// Validate checks the query section.
func (c *QueryConfig) Validate() error {
	var errs []error
	if c.MaxRows <= 0 {
		errs = append(errs, errors.New("max_rows: must be positive"))
	}
	if c.MaxResultBytes <= 0 {
		errs = append(errs, errors.New("max_result_bytes: must be positive"))
	}
	if c.MaxStreamBytes <= 0 {
		errs = append(errs, errors.New("max_stream_bytes: must be positive"))
	}
	if c.MaxSQLBytes <= 0 {
		errs = append(errs, errors.New("max_sql_bytes: must be positive"))
	}
	if c.MaxSelectBlocks <= 0 {
		errs = append(errs, errors.New("max_select_blocks: must be positive"))
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
	// "2GB", "512MiB" or percentages like "40%" are accepted.
	if m := strings.TrimSpace(c.MemoryLimit); strings.HasSuffix(m, "%") {
		if p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(m, "%")), 64); err != nil || p <= 0 || p > 100 {
			errs = append(errs, fmt.Errorf("memory_limit: %q is not a percentage between 0 and 100", c.MemoryLimit))
		}
	} else if m != "" {
		for _, r := range m {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == ' ') {
				errs = append(errs, fmt.Errorf("memory_limit: %q is not a size such as 2GB or a percentage such as 40%%", c.MemoryLimit))
				break
			}
		}
	}
	return errors.Join(errs...)
}
