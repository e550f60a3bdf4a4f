package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/catalog/iceberg"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// ErrIceberg wraps a failed Iceberg commit: the version was not
// committed anywhere and the dataset stays at its previous version (503).
var ErrIceberg = kit.NewKind(http.StatusServiceUnavailable, "iceberg_commit_failed", "iceberg commit failed")

// Option tunes Open.
type Option func(*openOptions)

type openOptions struct {
	icebergNamespace string
	retention        RetentionPolicy
	metadataFiles    int
}

// WithMetadataFiles sets how many Iceberg metadata JSON files each table
// keeps.
func WithMetadataFiles(n int) Option {
	return func(o *openOptions) { o.metadataFiles = n }
}

// WithIceberg publishes every version as an Iceberg snapshot of table
// <namespace>.<name> (see package iceberg) and keeps the tables in step
// with the catalog at open.
func WithIceberg(namespace string) Option {
	return func(o *openOptions) { o.icebergNamespace = namespace }
}

// Iceberg returns the Iceberg tables, or nil when Iceberg is off.
func (s *Store) Iceberg() *iceberg.Tables { return s.ice }

func icebergVersion(m Manifest) iceberg.Version {
	v := iceberg.Version{Number: m.Version, Fingerprint: m.SchemaFingerprint, Source: m.Source, CreatedAt: m.CreatedAt}
	for _, c := range m.Schema {
		v.Columns = append(v.Columns, iceberg.Column{Name: c.Name, Type: c.Type})
	}
	for _, f := range m.Files {
		v.Files = append(v.Files, iceberg.File{Key: f.Key, Bytes: f.Bytes, Rows: f.Rows})
	}
	return v
}

// afterIcebergCommit, when set (tests only), runs between a version's
// Iceberg commit and its catalog commit: the kill -9 test stops there.
var afterIcebergCommit func()

// SetAfterIcebergCommit installs a hook run between a version's Iceberg
// commit and its catalog commit. It exists for the crash tests of other
// packages (a test binary acting as the CLI stalls there to be killed);
// production code never calls it.
func SetAfterIcebergCommit(f func()) { afterIcebergCommit = f }

// icebergCommit commits m on top of prev; a table found out of step (made
// before Iceberg was on, or left by a crash) is re-synced first.
func (s *Store) icebergCommit(ctx context.Context, m Manifest, prev *Manifest, expire []int, ready func() error) error {
	var pv *iceberg.Version
	if prev != nil {
		v := icebergVersion(*prev)
		pv = &v
	}
	next := icebergVersion(m)
	next.Rewrite, next.Expire, next.Ready = m.Compacted, expire, ready
	err := s.ice.Commit(ctx, m.Name, pv, next)
	if !errors.Is(err, iceberg.ErrOutOfSync) {
		return err
	}
	s.log.Warn("catalog: iceberg table out of step, syncing it before the commit", "dataset", m.Name, "err", err)
	if _, err := s.syncTable(ctx, m.Name, &IcebergSyncReport{}); err != nil {
		return err
	}
	return s.ice.Commit(ctx, m.Name, pv, next)
}

// IcebergSyncReport says what SyncIceberg changed.
type IcebergSyncReport struct {
	Tables      int `json:"tables"`      // datasets checked
	Snapshots   int `json:"snapshots"`   // versions written as snapshots (backfill)
	RolledBack  int `json:"rolled_back"` // tables rewound to the catalog's version
	RolledFwd   int `json:"rolled_fwd"`  // versions the catalog adopted from a committed table
	Dropped     int `json:"dropped"`     // tables of deleted datasets removed
	Uncommitted int `json:"uncommitted"` // manifest objects of uncommitted versions removed
	Rebuilt     int `json:"rebuilt"`     // tables written under another root, written again
}

// SyncIceberg brings every Iceberg table in step with the catalog, and is
// idempotent: datasets without a table get one snapshot per existing
// version (backfill), a table behind the catalog gets the missing ones, a
// table ahead of it (a crash after the Iceberg commit) is adopted by the
// catalog from the manifest objects written before it (or rewound when
// they are missing), deleted datasets lose their table, and manifest
// objects of versions neither committed are removed.
func (s *Store) SyncIceberg(ctx context.Context) (IcebergSyncReport, error) {
	var rep IcebergSyncReport
	if s.ice == nil {
		return rep, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM datasets`)
	if err != nil {
		return rep, fmt.Errorf("catalog: iceberg sync: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return rep, fmt.Errorf("catalog: iceberg sync: %w", err)
		}
		names[n] = true
	}
	rows.Close()
	objs, err := listAll(ctx, s.objects, ManifestPrefix)
	if err != nil {
		return rep, err
	}
	for _, o := range objs {
		if n, _, ok := strings.Cut(strings.TrimPrefix(o.Key, ManifestPrefix), "/"); ok && ValidateName(n) == nil {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, n := range sorted {
		if _, err := s.syncTable(ctx, n, &rep); err != nil {
			return rep, err
		}
		rep.Tables++
	}
	if err := s.reload(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// syncTable brings one dataset's table in step (its writer lock, or the catalog-wide one, held) and returns
// the catalog's latest version after it.
func (s *Store) syncTable(ctx context.Context, name string, rep *IcebergSyncReport) (int, error) {
	var latest int
	var deleted bool
	err := s.db.QueryRowContext(ctx, `SELECT latest_version, deleted_at IS NOT NULL FROM datasets WHERE name = ?`, name).Scan(&latest, &deleted)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("catalog: iceberg sync %q: %w", name, err)
	}
	if moved, err := s.ice.Relocated(ctx, name); err != nil {
		return 0, err
	} else if moved && exists && !deleted {
		// Written under another root (the data dir moved): every location
		// in it is wrong, so the table is written again from the catalog.
		s.log.Warn("catalog: iceberg table written under another root (data dir moved?); rebuilding it", "dataset", name)
		if err := s.rebuildIceberg(ctx, name); err != nil {
			return 0, err
		}
		rep.Rebuilt++
		return latest, nil
	}
	head, err := s.ice.Head(ctx, name)
	if err != nil {
		return 0, err
	}
	switch {
	case head > latest:
		n, err := s.rollForward(ctx, name, latest, head, exists)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			rep.RolledFwd += n
			latest, deleted = head, false
		} else {
			if err := s.ice.Rewind(ctx, name, latest); err != nil {
				return 0, err
			}
			rep.RolledBack++
		}
	case deleted:
		if head > 0 {
			if err := s.ice.Drop(ctx, name); err != nil {
				return 0, err
			}
			rep.Dropped++
		}
	case head == latest && latest > 0:
		// Removes metadata files a commit that died before its hint left.
		if err := s.ice.Rewind(ctx, name, latest); err != nil {
			return 0, err
		}
	case head < latest:
		n, err := s.backfill(ctx, name, head)
		rep.Snapshots += n
		if err != nil {
			return 0, err
		}
	}
	n, err := s.removeUncommitted(ctx, name, latest)
	rep.Uncommitted += n
	return latest, err
}

// rollForward adopts versions from+1..to from their manifest objects, all
// or none; it returns how many it adopted (0 when one is missing).
func (s *Store) rollForward(ctx context.Context, name string, from, to int, exists bool) (int, error) {
	var ms []Manifest
	for v := from + 1; v <= to; v++ {
		var m Manifest
		if err := getJSON(ctx, s.objects, ManifestKey(name, v), &m); err != nil || m.Name != name || m.Version != v {
			s.log.Warn("catalog: iceberg is ahead but a manifest object is missing; rewinding the table", "dataset", name, "version", v, "err", err)
			return 0, nil
		}
		ms = append(ms, m)
	}
	for _, m := range ms {
		if err := s.commitRows(ctx, versionCommit{m: m, exists: exists, keys: keysOf(m), absorbed: m.Absorbed}); err != nil {
			return 0, err
		}
		exists = true
	}
	if err := s.objects.Delete(ctx, tombstoneKey(name)); err != nil {
		return 0, fmt.Errorf("catalog: iceberg sync %q: %w", name, err)
	}
	s.log.Warn("catalog: adopted versions committed to iceberg before a crash", "dataset", name, "from", from+1, "to", to)
	return len(ms), nil
}

// backfill writes one snapshot per catalog version newer than head; when
// version head itself is gone from the catalog (pruned), the table is
// rebuilt from the oldest remaining version.
func (s *Store) backfill(ctx context.Context, name string, head int) (int, error) {
	vs, err := s.versions(ctx, name)
	if err != nil {
		return 0, err
	}
	var prev *iceberg.Version
	start := 0
	if head > 0 {
		i := slices.IndexFunc(vs, func(m Manifest) bool { return m.Version == head })
		if i < 0 {
			if err := s.ice.Drop(ctx, name); err != nil {
				return 0, err
			}
		} else {
			v := icebergVersion(vs[i])
			prev, start = &v, i+1
		}
	}
	n := 0
	for _, m := range vs[start:] {
		v := icebergVersion(m)
		if err := s.ice.Commit(ctx, name, prev, v); err != nil {
			return n, fmt.Errorf("catalog: iceberg backfill %q v%d: %w", name, m.Version, err)
		}
		prev = &v
		n++
	}
	if n > 0 {
		s.log.Info("catalog: iceberg snapshots written for existing versions", "dataset", name, "count", n)
	}
	return n, nil
}

// removeUncommitted deletes manifest objects above the catalog's latest
// version: written before an Iceberg commit that never happened.
func (s *Store) removeUncommitted(ctx context.Context, name string, latest int) (int, error) {
	objs, err := listAll(ctx, s.objects, ManifestPrefix+name+"/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range objs {
		v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(o.Key, ManifestPrefix+name+"/"), ".json"))
		if err != nil || v <= latest {
			continue
		}
		if err := s.objects.Delete(ctx, o.Key); err != nil {
			return n, fmt.Errorf("catalog: remove uncommitted %s: %w", o.Key, err)
		}
		n++
	}
	return n, nil
}

// isEmpty reports whether the catalog has no dataset rows at all.
func (s *Store) isEmpty(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM datasets`).Scan(&n); err != nil {
		return false, fmt.Errorf("catalog: count datasets: %w", err)
	}
	return n == 0, nil
}

// hasManifests reports whether storage holds any manifest object.
func hasManifests(ctx context.Context, st storage.Store) (bool, error) {
	page, err := st.List(ctx, ManifestPrefix, "", 1)
	if err != nil {
		return false, fmt.Errorf("catalog: list %s: %w", ManifestPrefix, err)
	}
	return len(page.Objects) > 0, nil
}
