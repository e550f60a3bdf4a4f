package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"lakehouse/modules/storage"
)

// DataPrefix is where ingest writes Parquet parts: datasets/<name>/...
const DataPrefix = "datasets/"

// GCReport says what GC removed (or would remove, on a dry run).
type GCReport struct {
	// PurgedDatasets are deleted datasets whose versions, manifests and
	// files were removed.
	PurgedDatasets []string `json:"purged_datasets"`
	// RemovedKeys are the data objects removed.
	RemovedKeys  []string `json:"removed_keys"`
	RemovedBytes int64    `json:"removed_bytes"`
	// PrunedVersions are the versions removed by KeepVersions, by dataset.
	PrunedVersions map[string][]int `json:"pruned_versions"`
	// OutsideKeys are keys a purged version referenced outside datasets/
	// (registered before register enforced datasets/<name>/): gc never
	// deletes those, they may be another module's state.
	OutsideKeys []string `json:"outside_keys,omitempty"`
	DryRun      bool     `json:"dry_run"`
}

// pruneVersions drops the versions older than the newest keep of every
// live dataset. On a dry run it only reports them (and their files are
// then still counted as live).
func (s *Store) pruneVersions(ctx context.Context, keep int, dryRun bool, rep *GCReport) error {
	rows, err := s.db.QueryContext(ctx, `SELECT v.name, v.version FROM dataset_versions v JOIN datasets d ON d.name = v.name
		WHERE d.deleted_at IS NULL AND v.version <= d.latest_version - ? ORDER BY v.name, v.version`, keep)
	if err != nil {
		return fmt.Errorf("catalog: gc: prune: %w", err)
	}
	type nv struct {
		name string
		v    int
	}
	var old []nv
	for rows.Next() {
		var x nv
		if err := rows.Scan(&x.name, &x.v); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: gc: prune: %w", err)
		}
		if len(s.pinned(x.name)[x.v]) > 0 {
			continue // a tag keeps it
		}
		old = append(old, x)
	}
	rows.Close()
	for _, x := range old {
		rep.PrunedVersions[x.name] = append(rep.PrunedVersions[x.name], x.v)
		if dryRun {
			continue
		}
		// Manifest object first: a rebuild must not bring the version back.
		if err := s.objects.Delete(ctx, ManifestKey(x.name, x.v)); err != nil {
			return fmt.Errorf("catalog: gc: prune %s v%d: %w", x.name, x.v, err)
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("catalog: gc: prune: %w", err)
		}
		for _, q := range []string{`DELETE FROM dataset_files WHERE name = ? AND version = ?`, `DELETE FROM dataset_versions WHERE name = ? AND version = ?`} {
			if _, err := tx.ExecContext(ctx, q, x.name, x.v); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("catalog: gc: prune %s v%d: %w", x.name, x.v, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("catalog: gc: prune %s v%d: %w", x.name, x.v, err)
		}
	}
	// The pruned versions' snapshots go too, before gc deletes their
	// files: no Iceberg snapshot may name a removed part.
	if s.ice != nil && !dryRun {
		for name, vs := range rep.PrunedVersions {
			if err := s.ice.Prune(ctx, name, vs); err != nil {
				return fmt.Errorf("catalog: gc: prune iceberg snapshots of %s: %w", name, err)
			}
		}
	}
	return nil
}

// gcDeletable limits gc to dataset parts: keys under datasets/ but not a
// dataset's metadata/ (the catalog's own). Anything else a manifest names
// (a vector index, the catalog's manifests) is never gc's to delete.
func gcDeletable(key string) bool {
	return strings.HasPrefix(key, DataPrefix) && storage.CheckPublicKey(key) == nil
}

// GCOptions tune GC.
type GCOptions struct {
	// Grace keeps unreferenced objects younger than this (an ingest may
	// still be writing them).
	Grace time.Duration
	// KeepVersions, when > 0, prunes versions older than the newest
	// KeepVersions of every live dataset (rows and manifest objects); their
	// files go unless a kept version references them. 0 keeps every version.
	KeepVersions int
	// DryRun only reports.
	DryRun bool
}

// GC purges deleted datasets (data objects, manifest objects, tombstone,
// rows), optionally prunes old versions, and removes objects under
// datasets/ that no remaining version of a live dataset references and
// that are older than the grace period.
func (s *Store) GC(ctx context.Context, opt GCOptions) (GCReport, error) {
	rep, err := s.gc(ctx, opt)
	if err == nil && !opt.DryRun {
		// Told after the writer lock is released, as for Register.
		for _, name := range slices.Sorted(maps.Keys(rep.PrunedVersions)) {
			s.notify(Change{Name: name, Pruned: rep.PrunedVersions[name]})
		}
	}
	return rep, err
}

func (s *Store) gc(ctx context.Context, opt GCOptions) (GCReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	grace, dryRun := opt.Grace, opt.DryRun
	rep := GCReport{DryRun: dryRun, PurgedDatasets: []string{}, RemovedKeys: []string{}, PrunedVersions: map[string][]int{}}
	if opt.KeepVersions > 0 {
		if err := s.pruneVersions(ctx, opt.KeepVersions, dryRun, &rep); err != nil {
			return rep, err
		}
	}

	live := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT f.key FROM dataset_files f JOIN datasets d ON d.name = f.name WHERE d.deleted_at IS NULL`)
	if err != nil {
		return rep, fmt.Errorf("catalog: gc: %w", err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return rep, fmt.Errorf("catalog: gc: %w", err)
		}
		live[k] = true
	}
	rows.Close()

	var deleted []string
	drows, err := s.db.QueryContext(ctx, `SELECT name FROM datasets WHERE deleted_at IS NOT NULL ORDER BY name`)
	if err != nil {
		return rep, fmt.Errorf("catalog: gc: %w", err)
	}
	for drows.Next() {
		var n string
		if err := drows.Scan(&n); err != nil {
			drows.Close()
			return rep, fmt.Errorf("catalog: gc: %w", err)
		}
		deleted = append(deleted, n)
	}
	drows.Close()

	removed := map[string]bool{}
	remove := func(key string, size int64) error {
		if removed[key] || live[key] {
			return nil
		}
		if !gcDeletable(key) {
			removed[key] = true
			rep.OutsideKeys = append(rep.OutsideKeys, key)
			s.log.Warn("catalog: gc keeps a referenced key outside datasets/", "key", key)
			return nil
		}
		removed[key] = true
		rep.RemovedKeys = append(rep.RemovedKeys, key)
		rep.RemovedBytes += size
		if dryRun {
			return nil
		}
		s.markSwept(key)
		if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_deletes WHERE key = ?`, key); err != nil {
			return fmt.Errorf("catalog: gc: pending delete %s: %w", key, err)
		}
		return s.objects.Delete(ctx, key)
	}

	for _, name := range deleted {
		frows, err := s.db.QueryContext(ctx, `SELECT DISTINCT key, bytes FROM dataset_files WHERE name = ?`, name)
		if err != nil {
			return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
		}
		type kb struct {
			k string
			b int64
		}
		var keys []kb
		for frows.Next() {
			var x kb
			if err := frows.Scan(&x.k, &x.b); err != nil {
				frows.Close()
				return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
			}
			keys = append(keys, x)
		}
		frows.Close()
		for _, x := range keys {
			if err := remove(x.k, x.b); err != nil {
				return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
			}
		}
		rep.PurgedDatasets = append(rep.PurgedDatasets, name)
		if dryRun {
			continue
		}
		if s.ice != nil {
			if err := s.ice.Drop(ctx, name); err != nil {
				return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
			}
		}
		mans, err := listAll(ctx, s.objects, ManifestPrefix+name+"/")
		if err != nil {
			return rep, err
		}
		for _, o := range mans {
			if err := s.objects.Delete(ctx, o.Key); err != nil {
				return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
			}
		}
		// The tombstone goes last: until then a rebuild keeps the
		// dataset hidden even if gc stopped half way.
		if err := s.objects.Delete(ctx, tombstoneKey(name)); err != nil {
			return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
		}
		for _, q := range []string{`DELETE FROM dataset_files WHERE name = ?`, `DELETE FROM dataset_versions WHERE name = ?`, `DELETE FROM datasets WHERE name = ?`} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				_ = tx.Rollback()
				return rep, fmt.Errorf("catalog: gc %q: %w", name, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return rep, fmt.Errorf("catalog: gc %q: commit: %w", name, err)
		}
	}

	objs, err := listAll(ctx, s.objects, DataPrefix)
	if err != nil {
		return rep, err
	}
	cutoff := time.Now().Add(-grace)
	for _, o := range objs {
		if live[partOf(o.Key)] || o.Modified.After(cutoff) || !gcDeletable(o.Key) {
			continue
		}
		if err := remove(o.Key, o.Size); err != nil {
			return rep, fmt.Errorf("catalog: gc orphan %s: %w", o.Key, err)
		}
	}
	slices.SortFunc(rep.RemovedKeys, strings.Compare)
	return rep, nil
}
