package config

// PathwayConfig tunes the trace memory.
type PathwayConfig struct {
	// Log is the JSONL log file, relative to data_dir.
	Log string `toml:"log"`
}

func defaultPathway() PathwayConfig { return PathwayConfig{Log: "pathway/traces.jsonl"} }

// Validate checks the pathway section.
func (c *PathwayConfig) Validate() error { return nil }
