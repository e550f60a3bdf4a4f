package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"lakehouse/modules/storage"
)

// ErrInvalidRequest wraps every other bad-input error of Register (400).
var ErrInvalidRequest = errors.New("invalid register request")

// Store is the Catalog backed by the metadata database, mirroring every
// version as a manifest object in storage.
type Store struct {
	db      *sql.DB
	objects storage.Store
	log     *slog.Logger

	// mu serialises writers; reads of latest come from the cache.
	mu     sync.Mutex
	cacheM sync.RWMutex
	latest map[string]Manifest // live datasets only

	watchM   sync.RWMutex
	watchers []func(Change)
}

var (
	_ Catalog = (*Store)(nil)
	_ MetaDB  = (*Store)(nil)
)

// NewStore builds the catalog over a migrated metadata database and loads
// the live datasets into memory.
func NewStore(ctx context.Context, db *sql.DB, objects storage.Store, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Store{db: db, objects: objects, log: log}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// MetaDB implements MetaDB.
func (s *Store) MetaDB() *sql.DB { return s.db }

func (s *Store) reload(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT v.manifest FROM datasets d
		JOIN dataset_versions v ON v.name = d.name AND v.version = d.latest_version
		WHERE d.deleted_at IS NULL`)
	if err != nil {
		return fmt.Errorf("catalog: load: %w", err)
	}
	defer rows.Close()
	latest := map[string]Manifest{}
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return err
		}
		latest[m.Name] = m
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: load: %w", err)
	}
	s.cacheM.Lock()
	s.latest = latest
	s.cacheM.Unlock()
	return nil
}

func scanManifest(r interface{ Scan(...any) error }) (Manifest, error) {
	var raw string
	if err := r.Scan(&raw); err != nil {
		return Manifest{}, fmt.Errorf("catalog: scan manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return Manifest{}, fmt.Errorf("catalog: decode manifest: %w", err)
	}
	return m, nil
}

// Watch implements Catalog. fn runs synchronously after each commit, before
// the writer returns, so a reader notified by it sees the new version.
func (s *Store) Watch(fn func(Change)) {
	s.watchM.Lock()
	s.watchers = append(s.watchers, fn)
	s.watchM.Unlock()
}

func (s *Store) notify(ch Change) {
	s.watchM.RLock()
	ws := slices.Clone(s.watchers)
	s.watchM.RUnlock()
	for _, fn := range ws {
		fn(ch)
	}
}

// Get implements Catalog.
func (s *Store) Get(_ context.Context, name string) (Manifest, error) {
	if err := ValidateName(name); err != nil {
		return Manifest{}, err
	}
	s.cacheM.RLock()
	m, ok := s.latest[name]
	s.cacheM.RUnlock()
	if !ok {
		return Manifest{}, fmt.Errorf("catalog: %q: %w", name, ErrNotFound)
	}
	return m, nil
}

// List implements Catalog.
func (s *Store) List(_ context.Context) ([]Manifest, error) {
	s.cacheM.RLock()
	out := make([]Manifest, 0, len(s.latest))
	for _, m := range s.latest {
		out = append(out, m)
	}
	s.cacheM.RUnlock()
	slices.SortFunc(out, func(a, b Manifest) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// GetVersion implements Catalog.
func (s *Store) GetVersion(ctx context.Context, name string, version int) (Manifest, error) {
	if _, err := s.Get(ctx, name); err != nil {
		return Manifest{}, err
	}
	row := s.db.QueryRowContext(ctx, `SELECT manifest FROM dataset_versions WHERE name = ? AND version = ?`, name, version)
	m, err := scanManifest(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Manifest{}, fmt.Errorf("catalog: %q version %d: %w", name, version, ErrNotFound)
	}
	return m, err
}

// Versions implements Catalog.
func (s *Store) Versions(ctx context.Context, name string) ([]Manifest, error) {
	if _, err := s.Get(ctx, name); err != nil {
		return nil, err
	}
	return s.versions(ctx, name)
}

func (s *Store) versions(ctx context.Context, name string) ([]Manifest, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT manifest FROM dataset_versions WHERE name = ? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("catalog: versions of %q: %w", name, err)
	}
	defer rows.Close()
	var out []Manifest
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

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
	if len(req.Schema) > 0 {
		seen := map[string]bool{}
		for i, c := range req.Schema {
			if c.Name == "" || c.Type == "" {
				return fmt.Errorf("%w: schema column %d needs a name and a type", ErrInvalidRequest, i+1)
			}
			if seen[c.Name] {
				return fmt.Errorf("%w: duplicate schema column %q", ErrInvalidRequest, c.Name)
			}
			seen[c.Name] = true
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
		if strings.HasPrefix(f.Key, ManifestPrefix) || strings.HasPrefix(f.Key, tombstonePrefix) {
			return fmt.Errorf("%w: file %d: %q is under the catalog's reserved prefix", ErrInvalidRequest, i+1, f.Key)
		}
		if f.Rows < 0 || f.Bytes < 0 {
			return fmt.Errorf("%w: file %d: negative rows or bytes", ErrInvalidRequest, i+1)
		}
		rows += f.Rows
	}
	if req.RowCount < 0 {
		return fmt.Errorf("%w: negative row_count", ErrInvalidRequest)
	}
	if req.RowCount == 0 {
		req.RowCount = rows
	}
	return nil
}

// Register implements Catalog. Watchers are told after the writer lock is
// released, so a watcher may call back into the catalog.
func (s *Store) Register(ctx context.Context, req RegisterRequest) (Manifest, bool, error) {
	m, existing, err := s.register(ctx, req)
	if err == nil && !existing {
		s.notify(Change{Name: m.Name, Version: m.Version})
	}
	return m, existing, err
}

func (s *Store) register(ctx context.Context, req RegisterRequest) (Manifest, bool, error) {
	req.Files = slices.Clone(req.Files)
	if err := s.validate(&req); err != nil {
		return Manifest{}, false, err
	}
	hash := contentHash(req.SchemaFingerprint, req.Files)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheM.RLock()
	prev, live := s.latest[req.Name]
	s.cacheM.RUnlock()

	if req.IdempotencyKey != "" && live {
		var raw, prevHash string
		err := s.db.QueryRowContext(ctx, `SELECT manifest, content_hash FROM dataset_versions
			WHERE name = ? AND idempotency_key = ? ORDER BY version DESC LIMIT 1`, req.Name, req.IdempotencyKey).Scan(&raw, &prevHash)
		switch {
		case err == nil:
			if prevHash != hash {
				return Manifest{}, false, fmt.Errorf("catalog: %q idempotency key %q: %w", req.Name, req.IdempotencyKey, ErrIdempotencyConflict)
			}
			var m Manifest
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				return Manifest{}, false, fmt.Errorf("catalog: decode manifest: %w", err)
			}
			return m, true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return Manifest{}, false, fmt.Errorf("catalog: idempotency lookup: %w", err)
		}
	}
	if live && contentHash(prev.SchemaFingerprint, prev.Files) == hash {
		return prev, true, nil
	}
	if live && prev.SchemaFingerprint != req.SchemaFingerprint && !req.AllowSchemaChange {
		if len(req.Schema) > 0 {
			return Manifest{}, false, Diff(req.Name, prev.Schema, req.Schema)
		}
		return Manifest{}, false, &DriftError{Name: req.Name, OldFingerprint: prev.SchemaFingerprint, NewFingerprint: req.SchemaFingerprint}
	}
	if err := s.checkFiles(ctx, prev, req.Files); err != nil {
		return Manifest{}, false, err
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
	if err := s.commitVersion(ctx, m, hash, exists); err != nil {
		return Manifest{}, false, err
	}
	s.cacheM.Lock()
	s.latest[m.Name] = m
	s.cacheM.Unlock()
	// The database is the source of truth; a failed mirror write is
	// repaired at the next start (syncObjects).
	if err := s.writeManifestObject(ctx, m); err != nil {
		s.log.Error("catalog: mirror manifest to storage", "dataset", m.Name, "version", m.Version, "err", err)
	}
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

// Delete implements Catalog: the dataset disappears from List, Get and
// SQL; its versions and files stay until gc.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.delete(ctx, name); err != nil {
		return err
	}
	s.notify(Change{Name: name, Deleted: true})
	return nil
}

func (s *Store) delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheM.RLock()
	m, live := s.latest[name]
	s.cacheM.RUnlock()
	if !live {
		return fmt.Errorf("catalog: %q: %w", name, ErrNotFound)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.db.ExecContext(ctx, `UPDATE datasets SET deleted_at = ?, updated_at = ? WHERE name = ?`, now, now, name); err != nil {
		return fmt.Errorf("catalog: delete %q: %w", name, err)
	}
	s.cacheM.Lock()
	delete(s.latest, name)
	s.cacheM.Unlock()
	if err := s.writeTombstone(ctx, name, m.Version, now); err != nil {
		s.log.Error("catalog: mirror tombstone to storage", "dataset", name, "err", err)
	}
	return nil
}
