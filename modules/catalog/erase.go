package catalog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// History rewrites, for erasure: a person's rows must leave every
// version, not only the head, so the parts holding them are rewritten
// without them (by the erasure module) and every version that named an
// old part is made to name its rewrite instead. Version numbers, times
// and every other row stay as they were; only the files, row counts and
// key ranges of the versions concerned change. The Iceberg table is
// rebuilt from the rewritten versions, so no snapshot, manifest list or
// manifest (whose column bounds could hold the erased values) refers to
// an old part any more.

// HistoryRewrite says what RewriteHistory changed.
type HistoryRewrite struct {
	Name     string `json:"name"`
	Versions []int  `json:"versions"` // the versions whose files changed
	Dropped  int    `json:"parts_dropped"`
	Replaced int    `json:"parts_replaced"`
}

// RewriteHistory replaces parts in every retained version of name:
// repl maps an old part's key to the file that replaces it, or to nil
// when the rewrite left no row (the part is dropped from the version).
// It is idempotent — a version that names none of the old keys is left
// alone — so an erasure that died half-way runs it again. The old parts
// themselves are the caller's to delete, once this returns.
func (s *Store) RewriteHistory(ctx context.Context, name string, repl map[string]*File) (HistoryRewrite, error) {
	out := HistoryRewrite{Name: name}
	if len(repl) == 0 {
		return out, nil
	}
	defer s.lockDataset(name)()
	vs, err := s.versions(ctx, name)
	if err != nil {
		return out, err
	}
	var changed []Manifest
	for _, m := range vs {
		nm, ok := rewriteManifest(m, repl)
		if !ok {
			continue
		}
		changed = append(changed, nm)
	}
	if len(changed) == 0 {
		return out, nil
	}
	// The manifest objects first: with an object store they are what a
	// new node rebuilds the catalog from, and a crash between them and
	// the database leaves a state the rerun repairs (both are rewritten
	// from the same replacements).
	for _, m := range changed {
		if err := s.writeManifestObject(ctx, m); err != nil {
			return out, fmt.Errorf("catalog: rewrite %q v%d: %w", name, m.Version, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, fmt.Errorf("catalog: rewrite %q: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, m := range changed {
		raw, err := jsonString(m)
		if err != nil {
			return out, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dataset_versions SET manifest = ?, row_count = ?, content_hash = ? WHERE name = ? AND version = ?`,
			raw, m.RowCount, contentHash(m.SchemaFingerprint, m.Files), name, m.Version); err != nil {
			return out, fmt.Errorf("catalog: rewrite %q v%d: %w", name, m.Version, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dataset_files WHERE name = ? AND version = ?`, name, m.Version); err != nil {
			return out, fmt.Errorf("catalog: rewrite files of %q v%d: %w", name, m.Version, err)
		}
		rows := make([][]any, len(m.Files))
		for i, f := range m.Files {
			rows[i] = []any{m.Name, m.Version, f.Key, f.Bytes, f.Rows, f.SHA256}
		}
		if err := insertRows(ctx, tx, `INSERT INTO dataset_files (name, version, key, bytes, rows, sha256)`, rows); err != nil {
			return out, fmt.Errorf("catalog: rewrite files of %q v%d: %w", name, m.Version, err)
		}
		out.Versions = append(out.Versions, m.Version)
	}
	// The old parts are no file of any version now; none may wait in
	// pending deletes under its old name either (the caller deletes it).
	for old := range repl {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_deletes WHERE key = ?`, old); err != nil {
			return out, fmt.Errorf("catalog: rewrite %q: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return out, fmt.Errorf("catalog: rewrite %q: %w", name, err)
	}
	s.rememberErased(name, repl)
	// The old manifests (their key ranges can be an erased key) sit in
	// the database's WAL until a checkpoint folds it into the file. The
	// file's freed blocks may still hold them (see docs/SECURITY.md).
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		s.log.Warn("catalog: checkpoint after a history rewrite", "dataset", name, "err", err)
	}
	for _, f := range repl {
		if f == nil {
			out.Dropped++
		} else {
			out.Replaced++
		}
	}
	if err := s.reload(ctx); err != nil {
		return out, err
	}
	if err := s.rebuildIceberg(ctx, name); err != nil {
		return out, err
	}
	s.notify(Change{Name: name, Rewritten: changed})
	return out, nil
}

// rewriteManifest applies repl to one version; ok is false when the
// version names none of the old parts.
func rewriteManifest(m Manifest, repl map[string]*File) (Manifest, bool) {
	touched := false
	files := make([]File, 0, len(m.Files))
	var rows int64
	for _, f := range m.Files {
		nf, hit := repl[f.Key]
		switch {
		case !hit:
			files = append(files, f)
			rows += f.Rows
		case nf != nil:
			touched = true
			files = append(files, *nf)
			rows += nf.Rows
		default:
			touched = true
		}
	}
	if !touched {
		return m, false
	}
	m.Files, m.RowCount = files, rows
	m.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	return m, true
}

// rebuildIceberg drops name's Iceberg table and writes it again, one
// snapshot per retained version, with the tags pinned again: the old
// metadata, manifest lists and manifests go with the drop.
func (s *Store) rebuildIceberg(ctx context.Context, name string) error {
	if s.ice == nil {
		return nil
	}
	if err := s.ice.Drop(ctx, name); err != nil {
		return fmt.Errorf("catalog: rebuild iceberg %q: %w", name, err)
	}
	var deleted bool
	if err := s.db.QueryRowContext(ctx, `SELECT deleted_at IS NOT NULL FROM datasets WHERE name = ?`, name).Scan(&deleted); err != nil || deleted {
		return nil // a deleted dataset has no table
	}
	if _, err := s.backfill(ctx, name, 0); err != nil {
		return err
	}
	pins := s.pinned(name)
	vs := make([]int, 0, len(pins))
	for v := range pins {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	for _, v := range vs {
		for _, tag := range pins[v] {
			if err := s.ice.Pin(ctx, name, tag, v); err != nil {
				return fmt.Errorf("catalog: rebuild iceberg %q: pin %s: %w", name, tag, err)
			}
		}
	}
	return nil
}

// PartsOf lists every part key the retained versions of name reference,
// with the versions naming each (erasure scans each part once).
func (s *Store) PartsOf(ctx context.Context, name string) (map[string][]int, error) {
	vs, err := s.versions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, m := range vs {
		for _, f := range m.Files {
			out[f.Key] = append(out[f.Key], m.Version)
		}
	}
	return out, nil
}

// erasedParts maps, per dataset, the parts a history rewrite replaced to
// their rewrites (nil: dropped). A writer that read the file list before
// the rewrite (an upsert carries the parts it does not touch) would
// otherwise commit a version naming a deleted part — and the erased rows
// with it; commitNew substitutes the rewrites instead. (A part is named
// by its content, so a later ingest of the very same bytes gets the
// rewrite too, until a restart: the person stays forgotten.)
type erasedParts struct {
	mu sync.Mutex
	m  map[string]map[string]*File
}

func (s *Store) rememberErased(name string, repl map[string]*File) {
	s.erased.mu.Lock()
	defer s.erased.mu.Unlock()
	if s.erased.m == nil {
		s.erased.m = map[string]map[string]*File{}
	}
	if s.erased.m[name] == nil {
		s.erased.m[name] = map[string]*File{}
	}
	for k, f := range repl {
		s.erased.m[name][k] = f
	}
}

// substituteErased applies the remembered rewrites to a new version.
func (s *Store) substituteErased(m *Manifest) {
	s.erased.mu.Lock()
	repl := s.erased.m[m.Name]
	s.erased.mu.Unlock()
	if len(repl) == 0 {
		return
	}
	if nm, ok := rewriteManifest(*m, repl); ok {
		m.Files, m.RowCount = nm.Files, nm.RowCount
	}
}
