package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"lakehouse/modules/storage"
)

// MaintenanceOptions tune the background maintenance (config
// [catalog.maintenance]).
type MaintenanceOptions struct {
	Interval        time.Duration
	Grace           time.Duration
	CompactMinParts int   // 0 = never compact
	TargetPartBytes int64 // a part under half of it is small
	TempDir         string
}

// DatasetMaintenance is one dataset's state and its last maintenance, as
// GET /v1/catalog/maintenance, /metrics and `lakehouse doctor` show it.
type DatasetMaintenance struct {
	Name             string    `json:"name"`
	Versions         int       `json:"versions"`
	Latest           int       `json:"latest"`
	Parts            int       `json:"parts"`
	SmallParts       int       `json:"small_parts"`
	Rows             int64     `json:"rows"`
	MetadataFiles    int       `json:"metadata_files"`
	MetadataBytes    int64     `json:"metadata_bytes"`
	Snapshots        int       `json:"snapshots"`
	PendingDeletes   int       `json:"pending_deletes"`
	LastMaintenance  time.Time `json:"last_maintenance,omitzero"`
	LastError        string    `json:"last_error,omitempty"`
	LastExpired      []int     `json:"last_expired,omitempty"`
	LastCompacted    int       `json:"last_compacted_parts,omitempty"`
	LastRemovedFiles int       `json:"last_removed_files,omitempty"`
	LastRemovedBytes int64     `json:"last_removed_bytes,omitempty"`
}

// MaintenanceReport is what one maintenance pass did (or, on a dry run,
// would do) to each dataset.
type MaintenanceReport struct {
	DryRun   bool               `json:"dry_run"`
	Datasets []DatasetPassStats `json:"datasets"`
}

// DatasetPassStats is one dataset's share of a maintenance pass.
type DatasetPassStats struct {
	Name            string `json:"name"`
	Expired         []int  `json:"expired"`
	CompactedParts  int    `json:"compacted_parts"`
	NewParts        int    `json:"new_parts"`
	CompactVersion  int    `json:"compact_version,omitempty"`
	RemovedFiles    int    `json:"removed_files"`
	RemovedBytes    int64  `json:"removed_bytes"`
	RemovedMetadata int    `json:"removed_metadata_files"`
	MetadataBytes   int64  `json:"metadata_bytes_removed"`
	Error           string `json:"error,omitempty"`
}

// maintainer runs maintenance in the background: a full pass every
// interval, and a compaction check of a dataset right after each of its
// commits (so a stream of small appends never piles up parts).
type maintainer struct {
	s    *Store
	opt  MaintenanceOptions
	log  *slog.Logger
	wake chan string
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex
	status map[string]*DatasetMaintenance
	// unref remembers when an object was first seen unreferenced: the
	// grace period runs from then, not from the object's age (an old
	// manifest a merge just replaced is still being read).
	unref map[string]unrefMark
	// passMu makes passes one at a time (background and on demand).
	passMu sync.Mutex
}

// StartMaintenance starts the background maintenance; Close stops it.
func (s *Store) StartMaintenance(opt MaintenanceOptions) {
	if s.maint != nil {
		return
	}
	if opt.TargetPartBytes <= 0 {
		opt.TargetPartBytes = 128 << 20
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &maintainer{s: s, opt: opt, log: s.log, wake: make(chan string, 256), stop: cancel, done: make(chan struct{}),
		status: map[string]*DatasetMaintenance{}, unref: map[string]unrefMark{}}
	s.maint = m
	go m.run(ctx)
}

// stopMaintenance stops the background loop and waits for it.
func (s *Store) stopMaintenance() {
	if s.maint == nil {
		return
	}
	s.maint.stop()
	<-s.maint.done
}

// noteCommit wakes the maintainer for a dataset that just committed.
func (s *Store) noteCommit(name string) {
	if s.maint == nil {
		return
	}
	select {
	case s.maint.wake <- name:
	default: // the next full pass sees it
	}
}

func (m *maintainer) run(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-m.wake:
			if m.needsCompaction(name) {
				m.passMu.Lock()
				st := m.compact(ctx, name, false)
				m.passMu.Unlock()
				if st.Error != "" && ctx.Err() == nil {
					m.log.Warn("catalog: compaction", "dataset", name, "err", st.Error)
				}
			}
		case <-t.C:
			if _, err := m.pass(ctx, "", false); err != nil && ctx.Err() == nil {
				m.log.Warn("catalog: maintenance pass", "err", err)
			}
		}
	}
}

// Maintain runs one maintenance pass now over every live dataset (or
// only name): expiry, compaction, removal of unreferenced files past the
// grace period. With dryRun nothing changes and the report says what
// would. Without a running maintainer (an offline CLI) it uses opt.
func (s *Store) Maintain(ctx context.Context, name string, dryRun bool, opt MaintenanceOptions) (MaintenanceReport, error) {
	m := s.maint
	if m == nil {
		m = &maintainer{s: s, opt: opt, log: s.log, status: map[string]*DatasetMaintenance{}, unref: map[string]unrefMark{}}
		// Offline, the grace period runs from the object's own age: there
		// is no earlier sighting to count from.
		m.opt.Grace = -opt.Grace
	}
	if name != "" {
		if _, err := s.Get(ctx, name); err != nil {
			return MaintenanceReport{}, err
		}
	}
	return m.pass(ctx, name, dryRun)
}

func (m *maintainer) pass(ctx context.Context, only string, dryRun bool) (MaintenanceReport, error) {
	m.passMu.Lock()
	defer m.passMu.Unlock()
	rep := MaintenanceReport{DryRun: dryRun, Datasets: []DatasetPassStats{}}
	list, err := m.s.List(ctx)
	if err != nil {
		return rep, err
	}
	for _, man := range list {
		if only != "" && man.Name != only {
			continue
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		st := m.maintainDataset(ctx, man.Name, dryRun)
		rep.Datasets = append(rep.Datasets, st)
		if !dryRun {
			m.record(ctx, man.Name, st)
		}
	}
	if !dryRun && only == "" {
		m.forgetGone(list)
	}
	return rep, nil
}

// maintainDataset is one dataset's share of a pass, each step on its own
// so one failing does not stop the others.
func (m *maintainer) maintainDataset(ctx context.Context, name string, dryRun bool) DatasetPassStats {
	st := DatasetPassStats{Name: name, Expired: []int{}}
	var errs []error
	unlock := m.s.lockDataset(name)
	expired, err := m.s.expireNow(ctx, name, dryRun)
	unlock()
	if err != nil {
		errs = append(errs, err)
	}
	st.Expired = append(st.Expired, expired...)
	if len(expired) > 0 && !dryRun {
		m.s.notify(Change{Name: name, Pruned: expired})
	}
	c := m.compact(ctx, name, dryRun)
	st.CompactedParts, st.NewParts, st.CompactVersion = c.CompactedParts, c.NewParts, c.CompactVersion
	st.Expired = append(st.Expired, c.Expired...)
	if c.Error != "" {
		errs = append(errs, errors.New(c.Error))
	}
	if err := m.deletePending(ctx, name, dryRun, &st); err != nil {
		errs = append(errs, err)
	}
	if err := m.sweepOrphans(ctx, name, dryRun, &st); err != nil {
		errs = append(errs, err)
	}
	if m.s.ice != nil {
		now := time.Now()
		// A commit writes its manifests before the metadata file that
		// names them: the sweep confirms what it found unreferenced
		// under the writer lock (see SweepMetadata), or a sweep beside a
		// commit would delete them and leave a table naming a missing
		// manifest.
		locked := func(f func() error) error {
			defer m.s.lockDataset(name)()
			return f()
		}
		sw, err := m.s.ice.SweepMetadata(ctx, name, func(o storage.ObjectInfo) bool { return m.dueForDelete(o, now) }, locked, dryRun)
		if err != nil {
			errs = append(errs, err)
		}
		st.RemovedMetadata, st.MetadataBytes = sw.Removed, sw.RemovedBytes
		if !dryRun {
			m.s.met.removedFs.Add(int64(sw.Removed))
		}
	}
	if len(errs) > 0 {
		st.Error = errors.Join(errs...).Error()
	}
	return st
}

// deletePending removes the files expired versions left, once past the
// grace period and still unreferenced.
func (m *maintainer) deletePending(ctx context.Context, name string, dryRun bool, st *DatasetPassStats) error {
	grace := m.opt.Grace
	if grace < 0 {
		grace = -grace
	}
	cutoff := time.Now().UTC().Add(-grace)
	rows, err := m.s.db.QueryContext(ctx, `SELECT key, bytes FROM pending_deletes WHERE key LIKE ? AND since <= ? ORDER BY key`,
		DataPrefix+name+"/%", cutoff)
	if err != nil {
		return fmt.Errorf("catalog: pending deletes of %q: %w", name, err)
	}
	type kb struct {
		key   string
		bytes int64
	}
	var due []kb
	for rows.Next() {
		var x kb
		if err := rows.Scan(&x.key, &x.bytes); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: pending deletes: %w", err)
		}
		due = append(due, x)
	}
	rows.Close()
	if dryRun {
		for _, x := range due {
			st.RemovedFiles++
			st.RemovedBytes += x.bytes
		}
		return nil
	}
	for i := 0; i < len(due); i += 32 {
		chunk := due[i:min(i+32, len(due))]
		keys := make([]string, len(chunk))
		for j, x := range chunk {
			keys[j] = x.key
		}
		n, b, err := m.s.removeUnreferenced(ctx, name, keys)
		st.RemovedFiles += n
		st.RemovedBytes += b
		if err != nil {
			return err
		}
	}
	return nil
}

// removeUnreferenced deletes the objects among keys no version of a live
// or deleted dataset references and drops them from pending_deletes. The
// writer lock is held only while the references are checked and the
// keys marked as being deleted: a commit that names one of them meanwhile
// (its content-addressed part found in storage and not written again) is
// told to retry (checkNotSwept), so the deletes themselves run without
// stalling commits.
func (s *Store) removeUnreferenced(ctx context.Context, name string, keys []string) (int, int64, error) {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = partOf(k) // a key filter is referenced through its part
	}
	in := placeholders(len(keys))
	unlock := s.lockDataset(name)
	refd := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT key FROM dataset_files WHERE key IN `+in, args...)
	if err != nil {
		unlock()
		return 0, 0, fmt.Errorf("catalog: references of %d parts: %w", len(keys), err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			unlock()
			return 0, 0, fmt.Errorf("catalog: references: %w", err)
		}
		refd[k] = true
	}
	rows.Close()
	var doomed []string
	for _, k := range keys {
		if !refd[partOf(k)] {
			doomed = append(doomed, k)
		}
	}
	s.markDeleting(doomed)
	unlock()

	n, bytes := 0, int64(0)
	var failed error
	for _, k := range doomed {
		info, err := s.objects.Stat(ctx, k)
		if err == nil {
			err = s.objects.Delete(ctx, k)
		}
		switch {
		case err == nil:
			n++
			bytes += info.Size
			s.met.removedFs.Add(1)
		case errors.Is(err, storage.ErrNotFound):
		case failed == nil:
			failed = fmt.Errorf("catalog: delete %s: %w", k, err)
		}
		s.doneDeleting(k)
	}
	if failed != nil {
		return n, bytes, failed
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_deletes WHERE key IN `+in, args...); err != nil {
		return n, bytes, fmt.Errorf("catalog: pending deletes: %w", err)
	}
	return n, bytes, nil
}

// markDeleting marks keys maintenance is about to delete (the dataset's
// lock held).
func (s *Store) markDeleting(keys []string) {
	s.sweptMu.Lock()
	defer s.sweptMu.Unlock()
	if s.deleting == nil {
		s.deleting = map[string]bool{}
	}
	for _, k := range keys {
		s.deleting[k] = true
	}
}

// doneDeleting moves a key from being deleted to deleted lately.
func (s *Store) doneDeleting(key string) {
	s.sweptMu.Lock()
	delete(s.deleting, key)
	s.sweptMu.Unlock()
	s.markSwept(key)
}

// markSwept remembers a deleted part for checkNotSwept; entries older
// than an hour are forgotten.
func (s *Store) markSwept(key string) {
	s.sweptMu.Lock()
	defer s.sweptMu.Unlock()
	now := time.Now()
	if s.swept == nil {
		s.swept = map[string]time.Time{}
	}
	if now.Sub(s.sweptPruned) > time.Minute { // not per delete: the map can hold thousands
		for k, at := range s.swept {
			if now.Sub(at) > time.Hour {
				delete(s.swept, k)
			}
		}
		s.sweptPruned = now
	}
	s.swept[key] = now
}

// sweepOrphans removes parts under the dataset's folder that nothing
// references and nothing has for the grace period (a crashed ingest's
// parts, a compaction whose commit lost a race), and manifest objects of
// versions the catalog no longer has.
func (m *maintainer) sweepOrphans(ctx context.Context, name string, dryRun bool, st *DatasetPassStats) error {
	objs, err := listAll(ctx, m.s.objects, DataPrefix+name+"/")
	if err != nil {
		return err
	}
	refd := map[string]bool{}
	rows, err := m.s.db.QueryContext(ctx, `SELECT DISTINCT key FROM dataset_files WHERE name = ?
		UNION SELECT key FROM pending_deletes WHERE key LIKE ?`, name, DataPrefix+name+"/%")
	if err != nil {
		return fmt.Errorf("catalog: references of %q: %w", name, err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: references of %q: %w", name, err)
		}
		refd[k] = true
	}
	rows.Close()
	var due []string
	now := time.Now()
	for _, o := range objs {
		if refd[partOf(o.Key)] || !gcDeletable(o.Key) || !sweepable(o.Key) {
			continue
		}
		if m.dueForDelete(o, now) {
			due = append(due, o.Key)
			if dryRun {
				st.RemovedFiles++
				st.RemovedBytes += o.Size
			}
		}
	}
	if !dryRun {
		for i := 0; i < len(due); i += 32 {
			n, b, err := m.s.removeUnreferenced(ctx, name, due[i:min(i+32, len(due))])
			st.RemovedFiles += n
			st.RemovedBytes += b
			if err != nil {
				return err
			}
		}
	}
	return m.sweepManifestObjects(ctx, name, dryRun)
}

// dueForDelete says whether an unreferenced object has waited its grace
// period: from first sighting with a running maintainer, from its age
// offline (Grace < 0).
func (m *maintainer) dueForDelete(o storage.ObjectInfo, now time.Time) bool {
	if m.opt.Grace < 0 {
		return now.Sub(o.Modified) >= -m.opt.Grace
	}
	if now.Sub(o.Modified) < m.opt.Grace {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mark, ok := m.unref[o.Key]
	if !ok {
		mark.first = now
	}
	mark.last = now
	m.unref[o.Key] = mark
	if !ok {
		return m.opt.Grace == 0
	}
	return now.Sub(mark.first) >= m.opt.Grace
}

// unrefMark is when a pass first and last saw an object unreferenced.
type unrefMark struct{ first, last time.Time }

// sweepManifestObjects removes manifest objects of versions below the
// latest that the catalog no longer has (an expiry that stopped between
// its commit and the object's delete).
func (m *maintainer) sweepManifestObjects(ctx context.Context, name string, dryRun bool) error {
	man, err := m.s.Get(ctx, name)
	if err != nil {
		return nil // deleted meanwhile
	}
	objs, err := listAll(ctx, m.s.objects, ManifestPrefix+name+"/")
	if err != nil {
		return err
	}
	if !dryRun {
		if err := m.s.trimRemembered(ctx, name, man.Version); err != nil {
			return err
		}
	}
	have := map[int]bool{}
	vs, err := m.s.retained(ctx, name)
	if err != nil {
		return err
	}
	for _, v := range vs {
		have[v.Version] = true
	}
	for _, o := range objs {
		v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(o.Key, ManifestPrefix+name+"/"), ".json"))
		if err != nil || v >= man.Version || have[v] || dryRun {
			continue
		}
		// An expiry that stopped before it kept what the version carried:
		// keep it now, from the object itself.
		if err := m.s.keepCarriedOf(ctx, name, v, o.Key); err != nil {
			return err
		}
		if err := m.s.objects.Delete(ctx, o.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("catalog: remove manifest object %s: %w", o.Key, err)
		}
	}
	return nil
}

// record keeps a pass's outcome and the dataset's figures for status.
func (m *maintainer) record(ctx context.Context, name string, st DatasetPassStats) {
	dm := m.s.figures(ctx, name, m.opt.TargetPartBytes)
	dm.LastMaintenance = time.Now().UTC()
	dm.LastError = st.Error
	dm.LastExpired = st.Expired
	dm.LastCompacted = st.CompactedParts
	dm.LastRemovedFiles = st.RemovedFiles + st.RemovedMetadata
	dm.LastRemovedBytes = st.RemovedBytes + st.MetadataBytes
	m.mu.Lock()
	m.status[name] = &dm
	m.mu.Unlock()
}

func (m *maintainer) forgetGone(list []Manifest) {
	live := map[string]bool{}
	for _, x := range list {
		live[x.Name] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := range m.status {
		if !live[n] {
			delete(m.status, n)
		}
	}
	// An object no pass saw unreferenced lately was referenced again,
	// deleted, or belongs to a dataset that is gone.
	stale := time.Now().Add(-3 * m.opt.Interval)
	for k, mark := range m.unref {
		rest := strings.TrimPrefix(k, DataPrefix)
		if n, _, _ := strings.Cut(rest, "/"); !live[n] || mark.last.Before(stale) {
			delete(m.unref, k)
		}
	}
}

// figures counts a dataset's versions, parts and metadata now.
func (s *Store) figures(ctx context.Context, name string, target int64) DatasetMaintenance {
	dm := DatasetMaintenance{Name: name}
	man, err := s.Get(ctx, name)
	if err != nil {
		return dm
	}
	dm.Latest, dm.Parts, dm.Rows = man.Version, len(man.Files), man.RowCount
	for _, f := range man.Files {
		if f.Bytes < target/2 {
			dm.SmallParts++
		}
	}
	_ = s.db.QueryRowContext(ctx, `SELECT count(*) FROM dataset_versions WHERE name = ?`, name).Scan(&dm.Versions)
	_ = s.db.QueryRowContext(ctx, `SELECT count(*) FROM pending_deletes WHERE key LIKE ?`, DataPrefix+name+"/%").Scan(&dm.PendingDeletes)
	if s.ice != nil {
		if ms, err := s.ice.Stats(ctx, name); err == nil {
			dm.MetadataFiles, dm.MetadataBytes, dm.Snapshots = ms.Files, ms.Bytes, ms.Snapshots
		}
	}
	return dm
}

// MaintenanceStatus is every live dataset's figures with its last
// maintenance (figures are counted now; last_* come from the last pass).
func (s *Store) MaintenanceStatus(ctx context.Context) ([]DatasetMaintenance, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	target := int64(128 << 20)
	if s.maint != nil {
		target = s.maint.opt.TargetPartBytes
	}
	out := make([]DatasetMaintenance, 0, len(list))
	for _, man := range list {
		dm := s.figures(ctx, man.Name, target)
		if s.maint != nil {
			s.maint.mu.Lock()
			if last := s.maint.status[man.Name]; last != nil {
				dm.LastMaintenance, dm.LastError, dm.LastExpired = last.LastMaintenance, last.LastError, last.LastExpired
				dm.LastCompacted, dm.LastRemovedFiles, dm.LastRemovedBytes = last.LastCompacted, last.LastRemovedFiles, last.LastRemovedBytes
			}
			s.maint.mu.Unlock()
		}
		out = append(out, dm)
	}
	slices.SortFunc(out, func(a, b DatasetMaintenance) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// sweepable says whether an unreferenced object under a dataset's folder
// is ours to sweep: a part, or a part's key filter.
func sweepable(key string) bool {
	return strings.HasSuffix(key, ".parquet") || strings.HasSuffix(key, ".parquet"+KeyFilterSuffix)
}

// partOf is the part an object belongs to: the part itself, or the part
// a key filter describes (a filter lives exactly as long as its part).
func partOf(key string) string {
	return strings.TrimSuffix(key, KeyFilterSuffix)
}
