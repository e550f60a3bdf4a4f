package config

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// CatalogConfig tunes the dataset catalog and its metadata database.
type CatalogConfig struct {
	// MetaDB is the metadata database file, relative to data_dir.
	MetaDB string `toml:"meta_db"`
	// Iceberg publishes every dataset version as an Apache Iceberg snapshot.
	Iceberg IcebergConfig `toml:"iceberg"`
	// Retention decides how many versions of a dataset stay queryable.
	Retention RetentionConfig `toml:"retention"`
	// Maintenance is the background work that keeps tables small and fast.
	Maintenance MaintenanceConfig `toml:"maintenance"`
}

// RetentionConfig is the default retention of every dataset; a dataset's
// own setting (PUT /v1/catalog/retention/<name>) overrides it. A version
// is kept while it is among the newest keep_versions AND younger than
// keep_age (when set); the latest version and versions pinned by a tag
// are always kept. Expired versions lose their snapshots at once and
// their files after maintenance.grace.
type RetentionConfig struct {
	// KeepVersions is how many of the newest versions of a dataset stay
	// (0 = no count limit); commits let the count run a tenth over it
	// before expiring back down, maintenance trims it exactly.
	KeepVersions int `toml:"keep_versions"`
	// KeepAge expires versions older than this ("0s" = no age limit).
	KeepAge Duration `toml:"keep_age"`
	// InternalKeepVersions is the count kept of internal datasets (the
	// observer's audit dataset), which gain a version every
	// observer.parquet_interval while there is traffic.
	InternalKeepVersions int `toml:"internal_keep_versions"`
}

// MaintenanceConfig tunes the catalog's background maintenance: expiry by
// age, compaction of small parts, and removal of files no retained
// version needs.
type MaintenanceConfig struct {
	// Interval is how often every dataset is checked (commits also wake
	// it for the dataset they touched).
	Interval Duration `toml:"interval"`
	// Grace is how long a file no retained version references is kept
	// before it is deleted, so a query, export or Iceberg reader that
	// started on an expired version finishes.
	Grace Duration `toml:"grace"`
	// CompactMinParts compacts a dataset once its latest version has this
	// many small parts (0 = never compact).
	CompactMinParts int `toml:"compact_min_parts"`
	// TargetPartSize is the size a compacted part aims at; a part at half
	// of it or more is not small and is left alone.
	TargetPartSize ByteSize `toml:"target_part_size"`
	// MetadataFiles is how many Iceberg metadata JSON files (vN.metadata.json)
	// a table keeps; older ones are deleted after each commit.
	MetadataFiles int `toml:"metadata_files"`
}

var icebergNamespaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func defaultCatalog() CatalogConfig {
	return CatalogConfig{
		MetaDB:    "meta.duckdb",
		Iceberg:   IcebergConfig{Enabled: true, Namespace: "default"},
		Retention: RetentionConfig{KeepVersions: 100, InternalKeepVersions: 10},
		Maintenance: MaintenanceConfig{Interval: Duration(time.Minute), Grace: Duration(10 * time.Minute),
			CompactMinParts: 16, TargetPartSize: 128 << 20, MetadataFiles: 10},
	}
}

// IcebergConfig controls the Iceberg tables the catalog writes next to the
// Parquet parts (datasets/<name>/metadata/) and the read-only Iceberg REST
// catalog served at /iceberg.
type IcebergConfig struct {
	// Enabled writes one Iceberg snapshot per catalog version; a version is
	// committed only once its Iceberg metadata is durable. Off = no Iceberg
	// metadata is written and /iceberg answers 404 for every table.
	Enabled bool `toml:"enabled"`
	// Namespace is the Iceberg namespace every dataset's table lives in.
	Namespace string `toml:"namespace"`
}

// Validate checks the catalog section.
func (c *CatalogConfig) Validate() error {
	var errs []error
	if c.MetaDB == "" {
		errs = append(errs, errors.New("meta_db: must not be empty"))
	}
	if !icebergNamespaceRE.MatchString(c.Iceberg.Namespace) {
		errs = append(errs, fmt.Errorf("iceberg.namespace: %q must match [a-z][a-z0-9_]{0,62}", c.Iceberg.Namespace))
	}
	r, m := c.Retention, c.Maintenance
	if r.KeepVersions < 0 || r.InternalKeepVersions < 0 {
		errs = append(errs, errors.New("retention.keep_versions and internal_keep_versions: must be >= 0"))
	}
	if r.KeepAge < 0 {
		errs = append(errs, errors.New("retention.keep_age: must be >= 0"))
	}
	if m.Interval.D() < time.Second {
		errs = append(errs, fmt.Errorf("maintenance.interval: %s is shorter than 1s", m.Interval.D()))
	}
	if m.Grace < 0 {
		errs = append(errs, errors.New("maintenance.grace: must be >= 0"))
	}
	if m.CompactMinParts < 0 || (m.CompactMinParts > 0 && m.CompactMinParts < 2) {
		errs = append(errs, fmt.Errorf("maintenance.compact_min_parts: %d must be 0 (off) or at least 2", m.CompactMinParts))
	}
	if m.TargetPartSize < 1<<20 {
		errs = append(errs, fmt.Errorf("maintenance.target_part_size: %d bytes is below 1MiB", m.TargetPartSize))
	}
	if m.MetadataFiles < 2 {
		errs = append(errs, fmt.Errorf("maintenance.metadata_files: %d must be at least 2", m.MetadataFiles))
	}
	return errors.Join(errs...)
}
