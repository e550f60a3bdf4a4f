package config

import (
	"errors"
	"fmt"
	"regexp"
)

// CatalogConfig tunes the dataset catalog and its metadata database.
type CatalogConfig struct {
	// MetaDB is the metadata database file, relative to data_dir.
	MetaDB string `toml:"meta_db"`
	// Iceberg publishes every dataset version as an Apache Iceberg snapshot.
	Iceberg IcebergConfig `toml:"iceberg"`
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

var icebergNamespaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func defaultCatalog() CatalogConfig {
	return CatalogConfig{MetaDB: "meta.duckdb", Iceberg: IcebergConfig{Enabled: true, Namespace: "default"}}
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
	return errors.Join(errs...)
}
