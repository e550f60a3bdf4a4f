package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"lakehouse/internal/fsx"
)

// Scrubbing the metadata database. DuckDB marks the blocks an update
// frees as free but does not clear them, so after an erasure rewrote
// manifests (whose key ranges can be an erased key) the old text may
// stay in the file. The erasure asks for a scrub; the next open copies
// every table into a fresh file and puts it in place before anything
// else uses the database — at start-up, so no write can land in between.

func scrubMarker(path string) string { return path + ".scrub" }

// RequestScrub asks the next open of the metadata database to rewrite it
// into a fresh file.
func (s *Store) RequestScrub() error {
	if s.path == "" {
		return nil
	}
	if err := os.WriteFile(scrubMarker(s.path), []byte("erasure\n"), 0o600); err != nil {
		return fmt.Errorf("catalog: request a scrub: %w", err)
	}
	return fsx.SyncDir(filepath.Dir(s.path))
}

// scrubIfAsked rewrites the database at path into a fresh file when a
// scrub was asked for. A crash midway leaves the old file (the marker
// stays, the next open tries again) or the new one (renamed into place
// atomically).
func scrubIfAsked(ctx context.Context, path string) error {
	if _, err := os.Stat(scrubMarker(path)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return os.Remove(scrubMarker(path))
	}
	fresh := path + ".fresh"
	for _, p := range []string{fresh, fresh + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("catalog: scrub: %w", err)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("catalog: scrub: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("catalog: scrub: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{
		"ATTACH " + sqlString(path) + " AS lh_old",
		"ATTACH " + sqlString(fresh) + " AS lh_fresh",
		"COPY FROM DATABASE lh_old TO lh_fresh",
		"DETACH lh_fresh",
		"DETACH lh_old",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("catalog: scrub (%s): %w", q, wrapOpenErr(path, err))
		}
	}
	f, err := os.Open(fresh)
	if err != nil {
		return fmt.Errorf("catalog: scrub: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("catalog: scrub: %w", err)
	}
	f.Close()
	if err := os.Rename(fresh, path); err != nil {
		return fmt.Errorf("catalog: scrub: %w", err)
	}
	for _, p := range []string{path + ".wal", fresh + ".wal", scrubMarker(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("catalog: scrub: %w", err)
		}
	}
	return fsx.SyncDir(filepath.Dir(path))
}
