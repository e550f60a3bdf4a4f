package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configure an Engine.
type Options struct {
	// Threads and MemoryLimit are DuckDB's settings (0 / "" = DuckDB's
	// default); MemoryLimit may be a percentage of memory such as "40%".
	Threads     int
	MemoryLimit string
	// MaxConcurrent is how many user queries may run at once.
	MaxConcurrent int
	// ReadDirs are the only directories user SQL may read (the dataset
	// parts and the S3 cache). Nothing else on disk is reachable.
	ReadDirs []string
	// TempDir is where DuckDB spills; created if missing.
	TempDir string
}

// Engine is the query module's own in-memory DuckDB instance: views over
// the catalog's Parquet parts, locked down so user SQL can only read.
// It never touches the metadata database.
type Engine struct {
	db    *sql.DB
	admin *sql.Conn // the one connection that creates and drops views
	opts  Options
}

// OpenEngine opens an in-memory DuckDB, applies the settings and locks the
// configuration so no user statement can change them afterwards.
func OpenEngine(ctx context.Context, o Options) (*Engine, error) {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("query: open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	// One extra connection is the admin connection, held for the engine's life.
	db.SetMaxOpenConns(o.MaxConcurrent + 1)
	db.SetMaxIdleConns(o.MaxConcurrent + 1)
	db.SetConnMaxIdleTime(0)
	e := &Engine{db: db, opts: o}
	admin, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("query: admin connection: %w", err)
	}
	e.admin = admin
	if err := e.lockDown(ctx); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// lockDown applies DuckDB's own guards, in an order that keeps the last
// statements possible: settings first, then external access off, then the
// configuration lock (after which no SET/PRAGMA/RESET can change anything).
func (e *Engine) lockDown(ctx context.Context) error {
	var stmts []string
	if e.opts.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET GLOBAL threads = %d", e.opts.Threads))
	}
	limit, ok, err := duckMemoryLimit(e.opts.MemoryLimit, systemMemory())
	if err != nil {
		return err
	}
	if ok {
		stmts = append(stmts, "SET GLOBAL memory_limit = "+quoteString(limit))
	}
	if e.opts.TempDir != "" {
		if err := os.MkdirAll(e.opts.TempDir, 0o755); err != nil {
			return fmt.Errorf("query: temp dir: %w", err)
		}
		stmts = append(stmts, "SET GLOBAL temp_directory = "+quoteString(e.opts.TempDir))
	}
	dirs := make([]string, 0, len(e.opts.ReadDirs))
	for _, d := range e.opts.ReadDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("query: read dir %q: %w", d, err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("query: read dir: %w", err)
		}
		// A trailing separator keeps "/data/objects/datasets" from also
		// allowing "/data/objects/datasets-other".
		dirs = append(dirs, quoteString(strings.TrimSuffix(abs, string(filepath.Separator))+string(filepath.Separator)))
	}
	stmts = append(stmts,
		// Parts are immutable (content-addressed keys; cache files named
		// by key + ETag): footers can be cached across queries.
		"SET GLOBAL parquet_metadata_cache = true",
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL allowed_directories = ["+strings.Join(dirs, ", ")+"]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true",
	)
	for _, s := range stmts {
		if _, err := e.admin.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("query: lock down (%s): %w", s, err)
		}
	}
	return nil
}

// Close releases the admin connection and the database.
func (e *Engine) Close() error {
	var errs []error
	if e.admin != nil {
		errs = append(errs, e.admin.Close())
	}
	errs = append(errs, e.db.Close())
	return errors.Join(errs...)
}

// execAdmin runs DDL (views) on the admin connection.
func (e *Engine) execAdmin(ctx context.Context, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := e.admin.ExecContext(ctx, stmt)
	return err
}

// quoteString renders s as a SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent renders s as a SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
