package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"lakehouse/config"
	"lakehouse/migrations"
)

// ErrLocked means another process (usually a running server) holds the
// metadata database's file lock.
var ErrLocked = errors.New("metadata database is locked by another process")

// MetaDB gives the few modules that keep their own metadata tables access
// to the metadata database. User SQL never runs against it.
type MetaDB interface {
	// MetaDB returns the metadata database handle.
	MetaDB() *sql.DB
}

// MetaDBPath is the metadata database file for cfg (catalog.meta_db,
// relative to data_dir unless absolute).
func MetaDBPath(cfg *config.Config) string {
	if filepath.IsAbs(cfg.Catalog.MetaDB) {
		return cfg.Catalog.MetaDB
	}
	return filepath.Join(cfg.DataDir, cfg.Catalog.MetaDB)
}

// OpenMetaDB opens (creating if needed) the DuckDB file at path without
// migrating it. A lock held by another process becomes ErrLocked.
func OpenMetaDB(ctx context.Context, path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("catalog: metadata dir: %w", err)
	}
	if err := scrubIfAsked(ctx, path); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, wrapOpenErr(path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, wrapOpenErr(path, err)
	}
	return db, nil
}

func wrapOpenErr(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "lock") && (strings.Contains(msg, "Conflicting") || strings.Contains(msg, "Could not set lock")) {
		return fmt.Errorf("catalog: open %s: %w (%s)", path, ErrLocked, firstLine(msg))
	}
	return fmt.Errorf("catalog: open metadata database %s: %w", path, err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// OpenMigrated opens the metadata database and applies pending migrations
// (a tampered applied migration is an error).
func OpenMigrated(ctx context.Context, path string) (*sql.DB, error) {
	db, err := OpenMetaDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, db, migrations.FS()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return db, nil
}
