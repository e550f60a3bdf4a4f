package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"lakehouse/modules/catalog/iceberg"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// ErrInvalidRequest wraps every other bad-input error of Register (400).
var ErrInvalidRequest = kit.NewKind(http.StatusBadRequest, "bad_request", "invalid register request")

// Store is the Catalog backed by the metadata database, mirroring every
// version as a manifest object in storage.
type Store struct {
	db      *sql.DB
	objects storage.Store
	log     *slog.Logger
	erased  erasedParts // parts erasure replaced (erase.go)
	path    string      // the metadata database's file ("" when not opened by Open)

	// mu is the catalog-wide writer lock: held exclusively by what spans
	// datasets (gc, rebuild, the Iceberg sync, start-up retention), shared
	// by a writer of one dataset, which also holds that dataset's own
	// lock (lockDataset). Commits of different datasets run side by side;
	// reads of latest come from the cache.
	mu       sync.RWMutex
	dsMu     sync.Mutex
	dsLocks  map[string]*sync.Mutex
	cacheM   sync.RWMutex
	latest   map[string]Manifest // live datasets only
	reserved map[string]string   // internal dataset name → owning module
	ice      *iceberg.Tables     // nil when Iceberg is off
	// startSync is what SyncIceberg changed at Open.
	startSync IcebergSyncReport

	watchM    sync.RWMutex
	watchers  map[int]func(Change)
	nextWatch int

	// queues holds Register calls waiting to be committed, by dataset
	// (group commit), and whether one of their callers leads.
	queueM sync.Mutex
	queues map[string]*dsQueue

	// policy is the default retention; settings each dataset's own
	// retention and tags.
	policy    RetentionPolicy
	settingsM sync.RWMutex
	settings  map[string]*datasetSettings

	// swept remembers the parts maintenance deleted lately, deleting the
	// ones it is deleting now (both under sweptMu), see checkNotSwept.
	sweptMu     sync.Mutex
	swept       map[string]time.Time
	sweptPruned time.Time
	deleting    map[string]bool // parts maintenance is deleting now

	maint *maintainer // nil until StartMaintenance
	met   catalogMetrics
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
	s := &Store{db: db, objects: objects, log: log, settings: map[string]*datasetSettings{}}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	if err := s.loadSettings(ctx); err != nil {
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
		m, bad, err := scanManifestChecked(rows)
		if err != nil {
			return err
		}
		latest[m.Name] = m
		if len(bad) > 0 {
			s.log.Warn("catalog: dataset has column types that are not DuckDB types; they read as VARCHAR (register a new version with valid types)",
				"dataset", m.Name, "version", m.Version, "columns", bad)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: load: %w", err)
	}
	s.cacheM.Lock()
	s.latest = latest
	s.cacheM.Unlock()
	return nil
}

func jsonString(m Manifest) (string, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("catalog: encode manifest: %w", err)
	}
	return string(raw), nil
}

func scanManifest(r interface{ Scan(...any) error }) (Manifest, error) {
	m, _, err := scanManifestChecked(r)
	return m, err
}

// scanManifestChecked decodes a manifest row and neutralizes invalid
// column types, returning the columns it changed.
func scanManifestChecked(r interface{ Scan(...any) error }) (Manifest, []string, error) {
	var raw string
	if err := r.Scan(&raw); err != nil {
		return Manifest{}, nil, fmt.Errorf("catalog: scan manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return Manifest{}, nil, fmt.Errorf("catalog: decode manifest: %w", err)
	}
	return m, neutralizeTypes(&m), nil
}

// neutralizeTypes replaces column types that fail ValidateType with
// VARCHAR in a manifest read back from the database. Register refuses
// such types, but a catalog written before it did may hold one (even SQL
// meant for the view DDL); no reader may ever be handed it. The stored
// manifest and its fingerprint are left as they are. It returns the
// columns it changed.
func neutralizeTypes(m *Manifest) []string {
	var bad []string
	for i, c := range m.Schema {
		if ValidateType(c.Type) != nil {
			m.Schema[i].Type = "VARCHAR"
			bad = append(bad, fmt.Sprintf("%d %q %q", i+1, c.Name, c.Type))
		}
	}
	return bad
}

// Watch implements Catalog. fn runs synchronously after each commit, before
// the writer returns, so a reader notified by it sees the new version.
// The returned function removes fn; after it returns, fn is not called
// again (a notification already under way may still finish).
func (s *Store) Watch(fn func(Change)) func() {
	s.watchM.Lock()
	defer s.watchM.Unlock()
	if s.watchers == nil {
		s.watchers = map[int]func(Change){}
	}
	id := s.nextWatch
	s.nextWatch++
	s.watchers[id] = fn
	return func() {
		s.watchM.Lock()
		delete(s.watchers, id)
		s.watchM.Unlock()
	}
}

// notify calls the watchers in the order they subscribed.
func (s *Store) notify(ch Change) {
	s.watchM.RLock()
	ids := slices.Sorted(maps.Keys(s.watchers))
	ws := make([]func(Change), 0, len(ids))
	for _, id := range ids {
		ws = append(ws, s.watchers[id])
	}
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
	m, err := s.versionRow(ctx, name, version)
	if errors.Is(err, sql.ErrNoRows) {
		return Manifest{}, s.versionGone(ctx, name, version)
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
	if err := s.CheckName(name); err != nil {
		return err
	}
	defer s.lockDataset(name)()
	s.cacheM.RLock()
	m, live := s.latest[name]
	s.cacheM.RUnlock()
	if !live {
		return fmt.Errorf("catalog: %q: %w", name, ErrNotFound)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	// The dataset's keys, tags and retention belong to this incarnation
	// of the name: a dataset registered again under it starts afresh.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: delete %q: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `UPDATE datasets SET deleted_at = ?, updated_at = ? WHERE name = ?`, now, now, name); err != nil {
		return fmt.Errorf("catalog: delete %q: %w", name, err)
	}
	for _, table := range []string{"idempotency_keys", "absorbed_parts", "dataset_tags", "dataset_retention", "dataset_keys"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE name = ?`, name); err != nil {
			return fmt.Errorf("catalog: delete %q: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: delete %q: %w", name, err)
	}
	s.settingsM.Lock()
	delete(s.settings, name)
	s.settingsM.Unlock()
	keys := []string{settingsKey(name)}
	if kept, err := listAll(ctx, s.objects, keysPrefix+name+"/"); err == nil {
		for _, o := range kept {
			keys = append(keys, o.Key)
		}
	}
	for _, key := range keys {
		if err := s.objects.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Error("catalog: remove a deleted dataset's object", "key", key, "err", err)
		}
	}
	s.cacheM.Lock()
	delete(s.latest, name)
	s.cacheM.Unlock()
	if err := s.writeTombstone(ctx, name, m.Version, now); err != nil {
		s.log.Error("catalog: mirror tombstone to storage", "dataset", name, "err", err)
	}
	// The table goes with the dataset; a failure here is repaired at the
	// next start (SyncIceberg drops the tables of deleted datasets).
	if s.ice != nil {
		if err := s.ice.Drop(ctx, name); err != nil {
			s.log.Error("catalog: drop iceberg table", "dataset", name, "err", err)
		}
	}
	return nil
}

// lockDataset takes the writer lock of one dataset (and the catalog-wide
// lock shared); the returned function releases both.
func (s *Store) lockDataset(name string) func() {
	s.mu.RLock()
	s.dsMu.Lock()
	if s.dsLocks == nil {
		s.dsLocks = map[string]*sync.Mutex{}
	}
	l := s.dsLocks[name]
	if l == nil {
		l = &sync.Mutex{}
		s.dsLocks[name] = l
	}
	s.dsMu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.RUnlock()
	}
}
