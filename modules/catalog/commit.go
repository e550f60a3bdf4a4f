package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// versionCommit is everything one version's database transaction writes.
type versionCommit struct {
	m        Manifest
	exists   bool // the dataset has a row (live or deleted)
	keys     []idemRecord
	expire   []int             // versions retention drops in the same commit
	carried  []carried         // what the expiring versions carry that outlives them
	absorbed map[string]string // compaction: part key → the part it went into
}

// keysOf rebuilds the idempotency records of a manifest read back from
// the bucket (their content is the version's: a replay compares against
// the whole version, as before keys had records of their own).
func keysOf(m Manifest) []idemRecord {
	var out []idemRecord
	keys := m.IdempotencyKeys
	if len(keys) == 0 && m.IdempotencyKey != "" {
		keys = []string{m.IdempotencyKey}
	}
	for _, k := range keys {
		out = append(out, idemRecord{key: k, content: "hash:" + contentHash(m.SchemaFingerprint, m.Files)})
	}
	return out
}

// commitNew commits version m of a dataset whose latest live version is
// prev (nil: none) and returns the versions retention expired with it.
// Without Iceberg: the database, then the manifest object (repaired at
// start when the mirror write is lost). With Iceberg the bucket decides:
// the manifest object first (what a restart or rebuild rolls forward
// from), then the Iceberg commit (the commit point: version-hint.text),
// which also drops the expired versions' snapshots, then the database. A
// failure before the commit point leaves nothing; a failed database
// commit rewinds the table. The dataset's writer lock is held.
func (s *Store) commitNew(ctx context.Context, m Manifest, prev *Manifest, exists bool, keys []idemRecord, absorbed map[string]string) ([]int, error) {
	defer s.observeCommit(time.Now())
	s.substituteErased(&m)
	expire, err := s.expiring(ctx, m.Name, m.Version, m.CreatedAt)
	if err != nil {
		return nil, err
	}
	carried, err := s.carriedBy(ctx, m.Name, expire)
	if err != nil {
		return nil, err
	}
	vc := versionCommit{m: m, exists: exists, keys: keys, expire: expire, carried: carried, absorbed: absorbed}
	if s.ice == nil {
		if err := s.commitRows(ctx, vc); err != nil {
			return nil, err
		}
		if err := s.writeManifestObject(ctx, m); err != nil {
			s.log.Error("catalog: mirror manifest to storage", "dataset", m.Name, "version", m.Version, "err", err)
		}
		s.afterCommit(ctx, vc)
		return expire, nil
	}
	prevVersion := 0
	if prev != nil {
		prevVersion = prev.Version
	}
	fail := func(err error) error {
		return fmt.Errorf("%w: dataset %q version %d was not committed, it stays at version %d: %w",
			ErrIceberg, m.Name, m.Version, prevVersion, err)
	}
	// The manifest object must be durable before the commit point (the
	// hint write) but not before the Iceberg manifests: both are written
	// at once, and the commit waits for the object before it publishes.
	objDone := make(chan error, 1)
	go func() { objDone <- s.writeManifestObject(ctx, m) }()
	objWaited, objErr := false, error(nil)
	ready := func() error { // idempotent: an out-of-sync commit is retried
		if !objWaited {
			objWaited, objErr = true, <-objDone
		}
		return objErr
	}
	undo := func() {
		if err := s.objects.Delete(context.WithoutCancel(ctx), ManifestKey(m.Name, m.Version)); err != nil {
			s.log.Error("catalog: remove uncommitted manifest object", "dataset", m.Name, "version", m.Version, "err", err)
		}
	}
	if err := s.icebergCommit(ctx, m, prev, expire, ready); err != nil {
		_ = ready()
		undo()
		return nil, fail(err)
	}
	if afterIcebergCommit != nil {
		afterIcebergCommit()
	}
	if err := s.commitRows(ctx, vc); err != nil {
		if rerr := s.ice.Rewind(context.WithoutCancel(ctx), m.Name, prevVersion); rerr != nil {
			s.log.Error("catalog: rewind iceberg after a failed commit (the next start repairs it)", "dataset", m.Name, "err", rerr)
		} else {
			undo()
		}
		return nil, err
	}
	s.afterCommit(ctx, vc)
	return expire, nil
}

// afterCommit updates the cache and removes the expired versions'
// manifest objects (a leftover one is removed by the next maintenance).
func (s *Store) afterCommit(ctx context.Context, vc versionCommit) {
	s.cacheM.Lock()
	s.latest[vc.m.Name] = vc.m
	s.cacheM.Unlock()
	s.met.expired.Add(int64(len(vc.expire)))
	s.met.compacted.Add(int64(len(vc.absorbed)))
	// What the expired versions carried reaches the bucket before their
	// manifest objects go; should that fail, the objects stay and the
	// next maintenance pass tries again.
	if err := s.keepCarried(ctx, vc.carried); err != nil {
		s.log.Warn("catalog: keep expired versions' keys; their manifest objects stay until the next pass", "dataset", vc.m.Name, "err", err)
		s.noteCommit(vc.m.Name)
		return
	}
	for _, v := range vc.expire {
		if err := s.objects.Delete(ctx, ManifestKey(vc.m.Name, v)); err != nil {
			s.log.Warn("catalog: remove an expired version's manifest object", "dataset", vc.m.Name, "version", v, "err", err)
		}
	}
	s.noteCommit(vc.m.Name)
}

// commitRows is one version's database transaction: the version and its
// files, the dataset row, its idempotency keys and absorbed parts, and
// the expired versions' rows, whose files no kept version references
// going to pending_deletes (deleted after the grace period).
func (s *Store) commitRows(ctx context.Context, vc versionCommit) error {
	m := vc.m
	raw, err := jsonString(m)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := insertVersion(ctx, tx, m, contentHash(m.SchemaFingerprint, m.Files), raw); err != nil {
		return err
	}
	if vc.exists {
		_, err = tx.ExecContext(ctx, `UPDATE datasets SET latest_version = ?, updated_at = ?, deleted_at = NULL WHERE name = ?`,
			m.Version, m.CreatedAt, m.Name)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO datasets (name, dataset_id, latest_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			m.Name, m.DatasetID, m.Version, m.CreatedAt, m.CreatedAt)
	}
	if err != nil {
		return fmt.Errorf("catalog: write dataset %q: %w", m.Name, err)
	}
	keys := make([][]any, 0, len(vc.keys))
	for _, k := range vc.keys {
		keys = append(keys, []any{m.Name, k.key, m.Version, k.content})
	}
	if err := insertRows(ctx, tx, `INSERT OR REPLACE INTO idempotency_keys (name, key, version, content)`, keys); err != nil {
		return fmt.Errorf("catalog: record idempotency keys of %q v%d: %w", m.Name, m.Version, err)
	}
	absorbed := make([][]any, 0, len(vc.absorbed))
	for from, into := range vc.absorbed {
		absorbed = append(absorbed, []any{m.Name, from, into})
	}
	if err := insertRows(ctx, tx, `INSERT OR REPLACE INTO absorbed_parts (name, key, into_key)`, absorbed); err != nil {
		return fmt.Errorf("catalog: record compacted parts of %q: %w", m.Name, err)
	}
	// A file this version names is not to be deleted, whatever expired.
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_deletes WHERE key IN (SELECT key FROM dataset_files WHERE name = ? AND version = ?)`,
		m.Name, m.Version); err != nil {
		return fmt.Errorf("catalog: keep the files of %q v%d: %w", m.Name, m.Version, err)
	}
	if err := expireRows(ctx, tx, m.Name, vc.expire, m.CreatedAt); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit %q v%d: %w", m.Name, m.Version, err)
	}
	return nil
}

// expireRows removes versions' rows; their files that no remaining
// version of the dataset references become pending deletes.
func expireRows(ctx context.Context, tx *sql.Tx, name string, versions []int, now time.Time) error {
	if len(versions) == 0 {
		return nil
	}
	in := placeholders(len(versions))
	args := []any{now, name}
	for _, v := range versions {
		args = append(args, v)
	}
	args = append(args, name)
	for _, v := range versions {
		args = append(args, v)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO pending_deletes (key, bytes, since)
		SELECT key, max(bytes), ? FROM dataset_files WHERE name = ? AND version IN `+in+`
		AND key NOT IN (SELECT key FROM dataset_files WHERE name = ? AND version NOT IN `+in+`)
		GROUP BY key`, args...); err != nil {
		return fmt.Errorf("catalog: expire versions of %q: %w", name, err)
	}
	vargs := append([]any{name}, args[2:2+len(versions)]...)
	for _, q := range []string{`DELETE FROM dataset_files WHERE name = ? AND version IN ` + in,
		`DELETE FROM dataset_versions WHERE name = ? AND version IN ` + in} {
		if _, err := tx.ExecContext(ctx, q, vargs...); err != nil {
			return fmt.Errorf("catalog: expire versions of %q: %w", name, err)
		}
	}
	return nil
}

// placeholders is "(?, ?, …)" with n parameters, for an IN list.
// insertRows runs head (an INSERT naming its columns) with rows as its
// VALUES, 256 rows a statement: a compaction absorbing hundreds of parts
// costs a few round trips inside the writer lock, not one per part
// (measured under make load: per-row inserts held the lock ~2 s).
func insertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any) error {
	for i := 0; i < len(rows); i += 256 {
		chunk := rows[i:min(i+256, len(rows))]
		var q strings.Builder
		q.WriteString(head)
		q.WriteString(" VALUES ")
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for j, r := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(placeholders(len(r)))
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}
