package config

import "errors"

// IngestConfig tunes CSV → Parquet ingest.
type IngestConfig struct {
	// MaxUpload caps one uploaded CSV (413 above it).
	MaxUpload ByteSize `toml:"max_upload"`
	// SampleRows is how many rows type inference looks at before
	// converting; a later value that breaks a column's type widens it.
	SampleRows int `toml:"sample_rows"`
	// PartSize is about how many CSV bytes become one Parquet part; big
	// inputs become several parts converted in parallel.
	PartSize ByteSize `toml:"part_size"`
	// RowGroupRows is the Parquet row group length (DuckDB scans row
	// groups in parallel; 122880 is its own row group size).
	RowGroupRows int `toml:"row_group_rows"`
	// Workers is how many parts convert at once; 0 = one per CPU.
	Workers int `toml:"workers"`
}

func defaultIngest() IngestConfig {
	return IngestConfig{MaxUpload: 8 << 30, SampleRows: 10000, PartSize: 128 << 20, RowGroupRows: 122880}
}

// Validate checks the ingest section.
func (c *IngestConfig) Validate() error {
	var errs []error
	if c.SampleRows <= 0 {
		errs = append(errs, errors.New("sample_rows: must be positive"))
	}
	if c.MaxUpload <= 0 {
		errs = append(errs, errors.New("max_upload: must be positive"))
	}
	if c.PartSize < 1<<20 {
		errs = append(errs, errors.New("part_size: must be at least 1MiB"))
	}
	if c.RowGroupRows < 1024 || c.RowGroupRows > 1<<24 {
		errs = append(errs, errors.New("row_group_rows: must be between 1024 and 16777216"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("workers: must be 0 (one per CPU) or positive"))
	}
	return errors.Join(errs...)
}
