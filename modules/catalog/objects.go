package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"lakehouse/modules/storage"
)

// ManifestPrefix is where manifest objects live:
// _catalog/manifests/<name>/<version>.json.
const ManifestPrefix = "_catalog/manifests/"

// tombstonePrefix holds _catalog/deleted/<name>.json for deleted datasets,
// so a rebuild from the bucket keeps them hidden.
const tombstonePrefix = "_catalog/deleted/"

// ManifestKey is the storage key of one version's manifest object.
func ManifestKey(name string, version int) string {
	return fmt.Sprintf("%s%s/%d.json", ManifestPrefix, name, version)
}

func tombstoneKey(name string) string { return tombstonePrefix + name + ".json" }

// tombstone records that a dataset was deleted at a version.
type tombstone struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	DeletedAt time.Time `json:"deleted_at"`
}

func (s *Store) putJSON(ctx context.Context, key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = s.objects.Put(ctx, key, bytes.NewReader(data), int64(len(data)))
	return err
}

func (s *Store) writeManifestObject(ctx context.Context, m Manifest) error {
	return s.putJSON(ctx, ManifestKey(m.Name, m.Version), m)
}

func (s *Store) writeTombstone(ctx context.Context, name string, version int, at time.Time) error {
	return s.putJSON(ctx, tombstoneKey(name), tombstone{Name: name, Version: version, DeletedAt: at})
}

// listAll returns every key under prefix.
func listAll(ctx context.Context, st storage.Store, prefix string) ([]storage.ObjectInfo, error) {
	out, err := storage.ListAll(ctx, st, prefix)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return out, nil
}

func getJSON(ctx context.Context, st storage.Store, key string, v any) error {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return fmt.Errorf("catalog: read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("catalog: decode %s: %w", key, err)
	}
	return nil
}

// syncObjects writes the manifest objects and tombstones the database has
// but storage lacks (a crash between commit and mirror write).
func (s *Store) syncObjects(ctx context.Context) (int, error) {
	have := map[string]bool{}
	for _, p := range []string{ManifestPrefix, tombstonePrefix} {
		objs, err := listAll(ctx, s.objects, p)
		if err != nil {
			return 0, err
		}
		for _, o := range objs {
			have[o.Key] = true
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, version, manifest FROM dataset_versions`)
	if err != nil {
		return 0, fmt.Errorf("catalog: sync: %w", err)
	}
	type missing struct {
		key string
		raw string
	}
	var todo []missing
	for rows.Next() {
		var name, raw string
		var v int
		if err := rows.Scan(&name, &v, &raw); err != nil {
			rows.Close()
			return 0, fmt.Errorf("catalog: sync: %w", err)
		}
		if !have[ManifestKey(name, v)] {
			todo = append(todo, missing{ManifestKey(name, v), raw})
		}
	}
	rows.Close()
	fixed := 0
	for _, m := range todo {
		var man Manifest
		if err := json.Unmarshal([]byte(m.raw), &man); err != nil {
			return fixed, fmt.Errorf("catalog: sync: decode %s: %w", m.key, err)
		}
		if err := s.writeManifestObject(ctx, man); err != nil {
			return fixed, fmt.Errorf("catalog: sync: write %s: %w", m.key, err)
		}
		fixed++
	}
	drows, err := s.db.QueryContext(ctx, `SELECT name, latest_version, deleted_at FROM datasets WHERE deleted_at IS NOT NULL`)
	if err != nil {
		return fixed, fmt.Errorf("catalog: sync: %w", err)
	}
	var stones []tombstone
	for drows.Next() {
		var t tombstone
		if err := drows.Scan(&t.Name, &t.Version, &t.DeletedAt); err != nil {
			drows.Close()
			return fixed, fmt.Errorf("catalog: sync: %w", err)
		}
		if !have[tombstoneKey(t.Name)] {
			stones = append(stones, t)
		}
	}
	drows.Close()
	for _, t := range stones {
		if err := s.writeTombstone(ctx, t.Name, t.Version, t.DeletedAt.UTC()); err != nil {
			return fixed, fmt.Errorf("catalog: sync: tombstone %s: %w", t.Name, err)
		}
		fixed++
	}
	return fixed, nil
}

// RebuildReport says what Rebuild found in the bucket.
type RebuildReport struct {
	Datasets int `json:"datasets"`
	Versions int `json:"versions"`
	Deleted  int `json:"deleted"`
	Skipped  int `json:"skipped"` // unreadable or misplaced manifest objects
}

// Rebuild replaces the catalog tables with what the manifest objects and
// tombstones in storage say, in one transaction. With Iceberg, a table's
// head bounds its dataset (a manifest object above it belongs to a commit
// that never happened), and the tables are synced afterwards.
func (s *Store) Rebuild(ctx context.Context) (RebuildReport, error) {
	rep, err := s.rebuild(ctx)
	if err != nil || s.ice == nil {
		return rep, err
	}
	_, err = s.SyncIceberg(ctx)
	return rep, err
}

func (s *Store) rebuild(ctx context.Context) (RebuildReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rep RebuildReport
	objs, err := listAll(ctx, s.objects, ManifestPrefix)
	if err != nil {
		return rep, err
	}
	byName := map[string][]Manifest{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, ManifestPrefix)
		name, file, ok := strings.Cut(rest, "/")
		v, convErr := strconv.Atoi(strings.TrimSuffix(file, ".json"))
		if !ok || !strings.HasSuffix(file, ".json") || convErr != nil || ValidateName(name) != nil {
			rep.Skipped++
			continue
		}
		var m Manifest
		if err := getJSON(ctx, s.objects, o.Key, &m); err != nil || m.Name != name || m.Version != v {
			s.log.Warn("catalog: rebuild: skip manifest", "key", o.Key, "err", err)
			rep.Skipped++
			continue
		}
		byName[name] = append(byName[name], m)
	}
	if s.ice != nil {
		for name, ms := range byName {
			head, err := s.ice.Head(ctx, name)
			if err != nil {
				return rep, err
			}
			if head == 0 {
				continue
			}
			// A version the table has no tag for expired under retention
			// (its manifest object's delete may not have happened): its
			// files may be gone, it must not come back.
			tagged, err := s.ice.Tagged(ctx, name)
			if err != nil {
				return rep, err
			}
			kept := ms[:0]
			for _, m := range ms {
				if m.Version < head && tagged != nil && !tagged[m.Version] {
					rep.Skipped++
					continue
				}
				if m.Version <= head {
					kept = append(kept, m)
				} else {
					rep.Skipped++
				}
			}
			if len(kept) == 0 {
				delete(byName, name)
			} else {
				byName[name] = kept
			}
		}
	}
	stones := map[string]tombstone{}
	tobjs, err := listAll(ctx, s.objects, tombstonePrefix)
	if err != nil {
		return rep, err
	}
	for _, o := range tobjs {
		var t tombstone
		if err := getJSON(ctx, s.objects, o.Key, &t); err != nil {
			rep.Skipped++
			continue
		}
		stones[t.Name] = t
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("catalog: rebuild: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM dataset_files`, `DELETE FROM dataset_versions`, `DELETE FROM datasets`,
		`DELETE FROM idempotency_keys`, `DELETE FROM dataset_retention`, `DELETE FROM dataset_tags`, `DELETE FROM dataset_keys`,
		`DELETE FROM absorbed_parts`, `DELETE FROM pending_deletes`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return rep, fmt.Errorf("catalog: rebuild: clear: %w", err)
		}
	}
	if err := s.rebuildSettings(ctx, tx); err != nil {
		return rep, err
	}
	if err := s.rebuildRemembered(ctx, tx); err != nil {
		return rep, err
	}
	for name, ms := range byName {
		latest := ms[0]
		first := ms[0]
		for _, m := range ms {
			raw, err := json.Marshal(m)
			if err != nil {
				return rep, err
			}
			if err := insertVersion(ctx, tx, m, contentHash(m.SchemaFingerprint, m.Files), string(raw)); err != nil {
				return rep, err
			}
			for _, k := range keysOf(m) {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO idempotency_keys (name, key, version, content) VALUES (?, ?, ?, ?)`,
					m.Name, k.key, m.Version, k.content); err != nil {
					return rep, fmt.Errorf("catalog: rebuild: idempotency key: %w", err)
				}
			}
			for from, into := range m.Absorbed {
				if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO absorbed_parts (name, key, into_key) VALUES (?, ?, ?)`,
					m.Name, from, into); err != nil {
					return rep, fmt.Errorf("catalog: rebuild: compacted parts: %w", err)
				}
			}
			if m.Version > latest.Version {
				latest = m
			}
			if m.Version < first.Version {
				first = m
			}
			rep.Versions++
		}
		var deletedAt any
		updated := latest.CreatedAt
		if t, ok := stones[name]; ok && t.Version >= latest.Version {
			deletedAt, updated = t.DeletedAt, t.DeletedAt
			rep.Deleted++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO datasets (name, dataset_id, latest_version, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?)`,
			name, DatasetID(name), latest.Version, first.CreatedAt, updated, deletedAt); err != nil {
			return rep, fmt.Errorf("catalog: rebuild: dataset %q: %w", name, err)
		}
		rep.Datasets++
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("catalog: rebuild: commit: %w", err)
	}
	if err := s.reload(ctx); err != nil {
		return rep, err
	}
	if err := s.loadSettings(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// rebuildSettings restores every dataset's own retention and tags from
// their objects in the bucket.
func (s *Store) rebuildSettings(ctx context.Context, tx *sql.Tx) error {
	objs, err := listAll(ctx, s.objects, settingsPrefix)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, o := range objs {
		var st settingsJSON
		if err := getJSON(ctx, s.objects, o.Key, &st); err != nil || ValidateName(st.Name) != nil {
			s.log.Warn("catalog: rebuild: skip settings object", "key", o.Key, "err", err)
			continue
		}
		if st.KeepVersions != nil {
			var age int64
			if st.KeepAgeSecs != nil {
				age = *st.KeepAgeSecs
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_retention (name, keep_versions, keep_age_seconds, updated_at) VALUES (?, ?, ?, ?)`,
				st.Name, *st.KeepVersions, age, now); err != nil {
				return fmt.Errorf("catalog: rebuild: retention of %q: %w", st.Name, err)
			}
		}
		for tag, v := range st.Tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_tags (name, tag, version, created_at) VALUES (?, ?, ?, ?)`,
				st.Name, tag, v, now); err != nil {
				return fmt.Errorf("catalog: rebuild: tag of %q: %w", st.Name, err)
			}
		}
		if err := insertKeys(ctx, tx, st.Name, st.Key, st.ForeignKeys, now); err != nil {
			return fmt.Errorf("catalog: rebuild: %w", err)
		}
	}
	return nil
}
