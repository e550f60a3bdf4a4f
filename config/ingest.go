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
	// MaxColumns caps the columns of one CSV (400 above it, naming the
	// limit and the count): every column costs buffers in each worker.
	MaxColumns int `toml:"max_columns"`
	// MaxRecordBytes caps one CSV record (a line, or several when a
	// quoted field holds newlines); a longer one is a 400 (an
	// unterminated quote, or a file without newlines).
	MaxRecordBytes ByteSize `toml:"max_record_bytes"`
}

func defaultIngest() IngestConfig {
	return IngestConfig{MaxUpload: 8 << 30, SampleRows: 10000, PartSize: 128 << 20, RowGroupRows: 122880,
		MaxColumns: 4096, MaxRecordBytes: 64 << 20}
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
	if c.MaxColumns < 1 {
		errs = append(errs, errors.New("max_columns: must be positive"))
	}
	if c.MaxRecordBytes < 1<<10 || c.MaxRecordBytes > 1<<30 {
		errs = append(errs, errors.New("max_record_bytes: must be between 1KiB and 1GiB"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("workers: must be 0 (one per CPU) or positive"))
	}
	return errors.Join(errs...)
}
