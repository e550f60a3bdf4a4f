package config

import (
	"errors"
	"time"
)

// MCPConfig tunes `lakehouse mcp`, the MCP server agents talk to over
// stdio: how much one answer may hold and how long one call may take.
type MCPConfig struct {
	// MaxRows caps the items of any list in a tool answer (SQL rows,
	// search hits, traces); a cut answer says truncated and how to narrow.
	MaxRows int `toml:"max_rows"`
	// MaxChars caps a tool answer's JSON text, so one call cannot flood
	// the agent's context.
	MaxChars int `toml:"max_chars"`
	// Timeout bounds one tool call.
	Timeout Duration `toml:"timeout"`
	// IndexTimeout bounds index_dataset, which embeds a whole dataset.
	IndexTimeout Duration `toml:"index_timeout"`
	// SampleRows is how many rows dataset resources show.
	SampleRows int `toml:"sample_rows"`
	// PollInterval is how often the catalog is checked for new or changed
	// datasets (resources/list_changed notifications).
	PollInterval Duration `toml:"poll_interval"`
}

func defaultMCP() MCPConfig {
	return MCPConfig{
		MaxRows:      1024,
		MaxChars:     50_000,
		Timeout:      Duration(30 * time.Second),
		IndexTimeout: Duration(10 * time.Minute),
		SampleRows:   5,
		PollInterval: Duration(2 * time.Second),
	}
}

// Validate checks the mcp section.
func (c *MCPConfig) Validate() error {
	var errs []error
	if c.MaxRows < 1 {
		errs = append(errs, errors.New("max_rows must be at least 1"))
	}
	if c.MaxChars < 1000 {
		errs = append(errs, errors.New("max_chars must be at least 1000"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if c.IndexTimeout <= 0 {
		errs = append(errs, errors.New("index_timeout must be positive"))
	}
	if c.SampleRows < 0 || c.SampleRows > 100 {
		errs = append(errs, errors.New("sample_rows must be 0..100"))
	}
	if c.PollInterval < Duration(100*time.Millisecond) {
		errs = append(errs, errors.New("poll_interval must be at least 100ms"))
	}
	return errors.Join(errs...)
}
