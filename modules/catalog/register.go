package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"lakehouse/modules/storage"
)

// contentHash identifies a version's content: schema plus ordered files.
func contentHash(fp string, files []File) string {
	h := sha256.New()
	h.Write([]byte(fp))
	for _, f := range files {
		fmt.Fprintf(h, "\n%s %s", f.Key, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Store) validate(req *RegisterRequest) error {
	if err := ValidateName(req.Name); err != nil {
		return err
	}
	if owner := s.reservedBy(req.Name); owner != "" && req.Owner != owner {
		return s.CheckName(req.Name)
	}
	if len(req.Schema) > 0 {
		seen := map[string]bool{}
		for i, c := range req.Schema {
			if c.Name == "" || c.Type == "" {
				return fmt.Errorf("%w: schema column %d needs a name and a type", ErrInvalidRequest, i+1)
			}
			if err := ValidateColumnName(c.Name); err != nil {
				return fmt.Errorf("%w: schema column %d name %q: %w", ErrInvalidRequest, i+1, c.Name, err)
			}
			if err := ValidateType(c.Type); err != nil {
				return fmt.Errorf("%w: schema column %d (%q) type %q: %w", ErrInvalidRequest, i+1, c.Name, c.Type, err)
			}
			if seen[strings.ToLower(c.Name)] {
				return fmt.Errorf("%w: duplicate schema column %q (names are compared ignoring case)", ErrInvalidRequest, c.Name)
			}
			seen[strings.ToLower(c.Name)] = true
		}
		fp := Fingerprint(req.Schema)
		if req.SchemaFingerprint == "" {
			req.SchemaFingerprint = fp
		} else if !strings.EqualFold(req.SchemaFingerprint, fp) {
			return fmt.Errorf("%w: schema_fingerprint %s does not match the schema (expected %s)", ErrInvalidRequest, req.SchemaFingerprint, fp)
		}
	}
	if req.SchemaFingerprint == "" {
		return fmt.Errorf("%w: schema_fingerprint (or schema) is required", ErrInvalidRequest)
	}
	req.SchemaFingerprint = strings.ToLower(req.SchemaFingerprint)
	var rows int64
	for i, f := range req.Files {
		if err := storage.ValidateKey(f.Key); err != nil {
			return fmt.Errorf("%w: file %d: %w", ErrInvalidRequest, i+1, err)
		}
		if err := checkFileKey(req.Name, f.Key); err != nil {
			return fmt.Errorf("%w: file %d: %w", ErrInvalidRequest, i+1, err)
		}
		if f.Rows < 0 || f.Bytes < 0 {
			return fmt.Errorf("%w: file %d: negative rows or bytes", ErrInvalidRequest, i+1)
		}
		rows += f.Rows
	}
	if req.RowCount < 0 {
		return fmt.Errorf("%w: negative row_count", ErrInvalidRequest)
	}
	if req.RowCount == 0 && !req.Append { // an append counts once merged
		req.RowCount = rows
	}
	return nil
}

// holds reports whether m has every one of files (by key).
func holds(m Manifest, files []File) bool {
	for _, f := range files {
		if !slices.ContainsFunc(m.Files, func(g File) bool { return g.Key == f.Key }) {
			return false
		}
	}
	return true
}

// appendTo turns an append request into the full version that continues
// prev: prev's files then the new ones, nullability the union of both
// schemas, the row count summed.
func appendTo(req *RegisterRequest, prev *Manifest) {
	if prev != nil {
		req.Files = append(slices.Clone(prev.Files), req.Files...)
		req.Schema = slices.Clone(req.Schema)
		for i := range req.Schema {
			if i < len(prev.Schema) && prev.Schema[i].Nullable {
				req.Schema[i].Nullable = true
			}
		}
	}
	req.RowCount = 0
	for _, f := range req.Files {
		req.RowCount += f.Rows
	}
}

// Register implements Catalog. Watchers are told after the writer lock is
// released, so a watcher may call back into the catalog.
func (s *Store) Register(ctx context.Context, req RegisterRequest) (Manifest, bool, error) {
	m, existing, err := s.register(ctx, req)
	if err == nil && !existing {
		s.notify(Change{Name: m.Name, Version: m.Version, Manifest: &m})
	}
	return m, existing, err
}

func (s *Store) register(ctx context.Context, req RegisterRequest) (Manifest, bool, error) {
	req.Files = slices.Clone(req.Files)
	if err := s.validate(&req); err != nil {
		return Manifest{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheM.RLock()
	prev, live := s.latest[req.Name]
	s.cacheM.RUnlock()
	newFiles := req.Files // an append's own files, before merging
	var prevP *Manifest
	if live {
		prevP = &prev
	}
	if req.Append {
		appendTo(&req, prevP)
	}
	hash := contentHash(req.SchemaFingerprint, req.Files)

	if req.IdempotencyKey != "" && live {
		var raw, prevHash string
		err := s.db.QueryRowContext(ctx, `SELECT manifest, content_hash FROM dataset_versions
			WHERE name = ? AND idempotency_key = ? ORDER BY version DESC LIMIT 1`, req.Name, req.IdempotencyKey).Scan(&raw, &prevHash)
		switch {
		case err == nil:
			var m Manifest
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				return Manifest{}, false, fmt.Errorf("catalog: decode manifest: %w", err)
			}
			// A replayed append finds its files in the key's version
			// (whatever came after it); anything else must match exactly.
			same := prevHash == hash
			if req.Append {
				same = holds(m, newFiles) && m.SchemaFingerprint == req.SchemaFingerprint
			}
			if !same {
				return Manifest{}, false, fmt.Errorf("catalog: %q idempotency key %q: %w", req.Name, req.IdempotencyKey, ErrIdempotencyConflict)
			}
			return m, true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return Manifest{}, false, fmt.Errorf("catalog: idempotency lookup: %w", err)
		}
	}
	if live && (contentHash(prev.SchemaFingerprint, prev.Files) == hash || (req.Append && holds(prev, newFiles))) {
		return prev, true, nil
	}
	if live && prev.SchemaFingerprint != req.SchemaFingerprint && !req.AllowSchemaChange {
		if len(req.Schema) > 0 {
			return Manifest{}, false, CheckDrift(req.Name, &prev, req.Schema)
		}
		return Manifest{}, false, &DriftError{Name: req.Name, OldFingerprint: prev.SchemaFingerprint, NewFingerprint: req.SchemaFingerprint}
	}
	if !req.FilesVerified {
		if err := s.checkFiles(ctx, prev, req.Files); err != nil {
			return Manifest{}, false, err
		}
	}

	var latestVersion int
	var exists bool
	err := s.db.QueryRowContext(ctx, `SELECT latest_version FROM datasets WHERE name = ?`, req.Name).Scan(&latestVersion)
	switch {
	case err == nil:
		exists = true
	case !errors.Is(err, sql.ErrNoRows):
		return Manifest{}, false, fmt.Errorf("catalog: read dataset %q: %w", req.Name, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := Manifest{
		DatasetID:         DatasetID(req.Name),
		Name:              req.Name,
		Version:           latestVersion + 1,
		Schema:            req.Schema,
		SchemaFingerprint: req.SchemaFingerprint,
		Files:             req.Files,
		RowCount:          req.RowCount,
		CreatedAt:         now,
		UpdatedAt:         now,
		Source:            req.Source,
		IdempotencyKey:    req.IdempotencyKey,
	}
	if m.Schema == nil {
		m.Schema = []Column{}
	}
	if m.Files == nil {
		m.Files = []File{}
	}
	var prevM *Manifest
	if live {
		prevM = &prev
	}
	if err := s.publish(ctx, m, prevM, hash, exists); err != nil {
		return Manifest{}, false, err
	}
	s.cacheM.Lock()
	s.latest[m.Name] = m
	s.cacheM.Unlock()
	if !live && exists {
		if err := s.objects.Delete(ctx, tombstoneKey(m.Name)); err != nil {
			s.log.Error("catalog: remove tombstone", "dataset", m.Name, "err", err)
		}
	}
	return m, false, nil
}

// checkFiles proves every file new to this version exists, filling in its
// size when the caller left it zero.
func (s *Store) checkFiles(ctx context.Context, prev Manifest, files []File) error {
	known := map[string]bool{}
	for _, f := range prev.Files {
		known[f.Key] = true
	}
	for i := range files {
		if known[files[i].Key] && files[i].Bytes > 0 {
			continue
		}
		info, err := s.objects.Stat(ctx, files[i].Key)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: file %q does not exist in storage (upload it first)", ErrInvalidRequest, files[i].Key)
		}
		if err != nil {
			return fmt.Errorf("catalog: stat %s: %w", files[i].Key, err)
		}
		if files[i].Bytes == 0 {
			files[i].Bytes = info.Size
		} else if files[i].Bytes != info.Size {
			return fmt.Errorf("%w: file %q has %d bytes in storage, not %d", ErrInvalidRequest, files[i].Key, info.Size, files[i].Bytes)
		}
	}
	return nil
}

func (s *Store) commitVersion(ctx context.Context, m Manifest, hash string, exists bool) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("catalog: encode manifest: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := insertVersion(ctx, tx, m, hash, string(raw)); err != nil {
		return err
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE datasets SET latest_version = ?, updated_at = ?, deleted_at = NULL WHERE name = ?`,
			m.Version, m.CreatedAt, m.Name)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO datasets (name, dataset_id, latest_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			m.Name, m.DatasetID, m.Version, m.CreatedAt, m.CreatedAt)
	}
	if err != nil {
		return fmt.Errorf("catalog: write dataset %q: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit %q v%d: %w", m.Name, m.Version, err)
	}
	return nil
}

func insertVersion(ctx context.Context, tx *sql.Tx, m Manifest, hash, raw string) error {
	var idem any
	if m.IdempotencyKey != "" {
		idem = m.IdempotencyKey
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_versions
		(name, version, schema_fingerprint, content_hash, idempotency_key, row_count, created_at, manifest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Name, m.Version, m.SchemaFingerprint, hash, idem, m.RowCount, m.CreatedAt, raw); err != nil {
		return fmt.Errorf("catalog: insert %q v%d: %w", m.Name, m.Version, err)
	}
	for _, f := range m.Files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_files (name, version, key, bytes, rows, sha256) VALUES (?, ?, ?, ?, ?, ?)`,
			m.Name, m.Version, f.Key, f.Bytes, f.Rows, f.SHA256); err != nil {
			return fmt.Errorf("catalog: insert file of %q v%d: %w", m.Name, m.Version, err)
		}
	}
	return nil
}
