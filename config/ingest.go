package config

import "errors"

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
