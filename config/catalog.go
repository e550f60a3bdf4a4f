package config

import "errors"

// CatalogConfig tunes the dataset catalog and its metadata database.
type CatalogConfig struct {
	// MetaDB is the metadata database file, relative to data_dir.
	MetaDB string `toml:"meta_db"`
}

func defaultCatalog() CatalogConfig { return CatalogConfig{MetaDB: "meta.duckdb"} }

// Validate checks the catalog section.
func (c *CatalogConfig) Validate() error {
	if c.MetaDB == "" {
		return errors.New("meta_db: must not be empty")
	}
	return nil
}
