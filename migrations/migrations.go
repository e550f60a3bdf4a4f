// Package migrations holds the metadata database's schema as numbered SQL
// files (NNNN_name.sql), embedded in the binary, and the runner that
// applies them in order, each in its own transaction, recording every
// applied file in schema_migrations with its checksum.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// Migration is one numbered SQL file.
type Migration struct {
	Version  int
	Name     string // file name, e.g. 0001_catalog.sql
	Checksum string // hex SHA-256 of the file's bytes
	SQL      string
}

// Status is one migration as seen by `lakehouse migrate status`.
type Status struct {
	Migration
	Applied   bool
	AppliedAt time.Time
}

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load reads and orders the migrations of fsys (the embedded set unless a
// test passes its own).
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: read dir: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(data)
		out = append(out, Migration{Version: v, Name: e.Name(), Checksum: hex.EncodeToString(sum[:]), SQL: string(data)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       VARCHAR NOT NULL,
	checksum   VARCHAR NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL
)`

type applied struct {
	name, checksum string
	at             time.Time
}

func readApplied(ctx context.Context, db *sql.DB) (map[int]applied, error) {
	if _, err := db.ExecContext(ctx, createTable); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT version, name, checksum, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]applied{}
	for rows.Next() {
		var v int
		var a applied
		if err := rows.Scan(&v, &a.name, &a.checksum, &a.at); err != nil {
			return nil, fmt.Errorf("migrations: scan schema_migrations: %w", err)
		}
		out[v] = a
	}
	return out, rows.Err()
}

// Check compares the database with the migration set: an applied
// migration whose checksum changed, or one this binary does not know, is
// an error (the schema can no longer be trusted to match the code).
func Check(ctx context.Context, db *sql.DB, fsys fs.FS) ([]Status, error) {
	ms, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	done, err := readApplied(ctx, db)
	if err != nil {
		return nil, err
	}
	known := map[int]bool{}
	out := make([]Status, 0, len(ms))
	for _, m := range ms {
		known[m.Version] = true
		st := Status{Migration: m}
		if a, ok := done[m.Version]; ok {
			if a.checksum != m.Checksum {
				return nil, fmt.Errorf("migrations: %s was changed after it was applied (recorded checksum %s, file checksum %s); restore the original file and add a new migration instead", m.Name, short(a.checksum), short(m.Checksum))
			}
			st.Applied, st.AppliedAt = true, a.at
		}
		out = append(out, st)
	}
	for v, a := range done {
		if !known[v] {
			return nil, fmt.Errorf("migrations: the database has migration %s (version %d) that this binary does not know; run a newer lakehouse", a.name, v)
		}
	}
	return out, nil
}

// Up applies every pending migration in order, each in its own
// transaction together with its schema_migrations row, and returns the
// ones it applied.
func Up(ctx context.Context, db *sql.DB, fsys fs.FS) ([]Migration, error) {
	sts, err := Check(ctx, db, fsys)
	if err != nil {
		return nil, err
	}
	var ran []Migration
	for _, st := range sts {
		if st.Applied {
			continue
		}
		if err := apply(ctx, db, st.Migration); err != nil {
			return ran, err
		}
		ran = append(ran, st.Migration)
	}
	return ran, nil
}

func apply(ctx context.Context, db *sql.DB, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migrations: %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
		m.Version, m.Name, m.Checksum, time.Now().UTC()); err != nil {
		return fmt.Errorf("migrations: %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: %s: commit: %w", m.Name, err)
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
