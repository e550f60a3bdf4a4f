package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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

// Register implements Catalog. Appends to one dataset that arrive while
// a commit of it is under way are committed together as the next
// version (group commit): each caller gets the version holding its
// parts, a caller whose own request breaks a rule (drift, an
// idempotency conflict, a missing file) fails alone. Watchers are told
// after the writer lock is released, so a watcher may call back into
// the catalog.
func (s *Store) Register(ctx context.Context, req RegisterRequest) (Manifest, bool, error) {
	req.Files = slices.Clone(req.Files)
	if err := s.validate(&req); err != nil {
		return Manifest{}, false, err
	}
	p := &pendingReg{req: req, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	if !s.enqueue(p) {
		// Another caller leads the dataset's commits: wait until a batch
		// holds p, or until the leader hands the lead over.
		select {
		case <-p.done:
			return p.m, p.existing, p.err
		case <-p.lead:
		}
	}
	// The leader commits batches until one holds p (the head of the queue
	// is not necessarily p: a non-append is a batch of its own), then
	// hands the lead to the oldest caller still queued. Only the leader
	// takes the writer lock, so a batch's other callers are woken once,
	// by done, instead of each taking the lock in turn to find their
	// request committed (under load every such hand-off waited for a
	// CPU, and the next commit behind all of them). done is closed only
	// after the watchers ran: a caller returns once its version is
	// visible to them.
	var batch []*pendingReg
	defer func() {
		// A panic in a commit must not leave the batch's callers waiting
		// and the dataset without a leader for ever.
		if r := recover(); r != nil {
			for _, q := range batch {
				q.err = fmt.Errorf("catalog: commit of %q failed: %v", req.Name, r)
				close(q.done)
			}
			s.dequeue(p) // the lead must not pass to p, whose caller is gone
			s.handOff(req.Name)
			panic(r)
		}
	}()
	for {
		unlock := s.lockDataset(req.Name)
		batch = s.takeBatch(req.Name)
		ch := func() *Change { defer unlock(); return s.commitBatch(ctx, batch) }()
		if ch != nil {
			s.notify(*ch)
		}
		mine := false
		for _, q := range batch {
			mine = mine || q == p
			close(q.done)
		}
		batch = nil
		if mine {
			s.handOff(req.Name)
			return p.m, p.existing, p.err
		}
	}
}

// pendingReg is one Register call waiting for (or in) a batch.
type pendingReg struct {
	req      RegisterRequest
	newFiles []File // an append's own files
	content  string // what a replay with the same idempotency key must match
	ok       bool   // admitted into the version being built
	m        Manifest
	existing bool
	err      error
	done     chan struct{} // closed once p's batch is committed (or failed)
	lead     chan struct{} // receives when p's caller is to lead the commits
}

// dsQueue is one dataset's Register calls not yet in a batch, and
// whether a caller is leading its commits.
type dsQueue struct {
	waiting []*pendingReg
	led     bool
}

// enqueue adds p to its dataset's queue and reports whether p's caller
// leads the commits (nobody else did).
func (s *Store) enqueue(p *pendingReg) bool {
	s.queueM.Lock()
	defer s.queueM.Unlock()
	if s.queues == nil {
		s.queues = map[string]*dsQueue{}
	}
	q := s.queues[p.req.Name]
	if q == nil {
		q = &dsQueue{}
		s.queues[p.req.Name] = q
	}
	q.waiting = append(q.waiting, p)
	if q.led {
		return false
	}
	q.led = true
	return true
}

// dequeue removes p from its dataset's queue if it is still there.
func (s *Store) dequeue(p *pendingReg) {
	s.queueM.Lock()
	defer s.queueM.Unlock()
	if q := s.queues[p.req.Name]; q != nil {
		q.waiting = slices.DeleteFunc(q.waiting, func(w *pendingReg) bool { return w == p })
	}
}

// handOff passes the lead of name's commits to the oldest queued caller,
// or ends it when nobody is queued.
func (s *Store) handOff(name string) {
	s.queueM.Lock()
	defer s.queueM.Unlock()
	q := s.queues[name]
	if len(q.waiting) == 0 {
		delete(s.queues, name)
		return
	}
	q.waiting[0].lead <- struct{}{}
}

// takeBatch removes from name's queue the requests the next version
// commits: the leading run of appends, or the single non-append at its
// head. The dataset's writer lock is held.
func (s *Store) takeBatch(name string) []*pendingReg {
	s.queueM.Lock()
	defer s.queueM.Unlock()
	dq := s.queues[name]
	q := dq.waiting
	n := 1
	if q[0].req.Append {
		for n < len(q) && q[n].req.Append {
			n++
		}
	}
	batch := slices.Clone(q[:n])
	dq.waiting = slices.Clone(q[n:])
	return batch
}

// commitBatch applies the catalog's rules to each request of a batch in
// order, builds one version from those admitted and commits it; results
// land in each pendingReg. It returns the change to tell watchers about.
func (s *Store) commitBatch(ctx context.Context, batch []*pendingReg) *Change {
	// The commit serves every caller of the batch, not just the one
	// whose goroutine runs it: one caller going away must not fail the
	// others.
	ctx = context.WithoutCancel(ctx)
	name := batch[0].req.Name
	s.cacheM.RLock()
	prev, live := s.latest[name]
	s.cacheM.RUnlock()
	var cur *Manifest
	if live {
		c := prev
		c.Files = slices.Clone(prev.Files)
		c.Schema = slices.Clone(prev.Schema)
		cur = &c
	}
	changed := false
	keys := map[string]*pendingReg{} // idempotency keys admitted in this batch
	for _, p := range batch {
		next, err := s.admit(ctx, p, cur, keys)
		if err != nil {
			p.err = err
			continue
		}
		if next != nil {
			cur, changed = next, true
		}
	}
	if !changed {
		return nil
	}
	var latestVersion int
	var exists bool
	err := s.db.QueryRowContext(ctx, `SELECT latest_version FROM datasets WHERE name = ?`, name).Scan(&latestVersion)
	switch {
	case err == nil:
		exists = true
	case !errors.Is(err, sql.ErrNoRows):
		failAdmitted(batch, fmt.Errorf("catalog: read dataset %q: %w", name, err))
		return nil
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := Manifest{
		DatasetID: DatasetID(name), Name: name, Version: latestVersion + 1,
		Schema: cur.Schema, SchemaFingerprint: cur.SchemaFingerprint, Files: cur.Files, RowCount: cur.RowCount,
		CreatedAt: now, UpdatedAt: now, Source: cur.Source, Key: cur.Key,
	}
	var recs []idemRecord
	for _, p := range batch {
		if p.ok && !p.existing && p.req.IdempotencyKey != "" {
			recs = append(recs, idemRecord{key: p.req.IdempotencyKey, content: p.content})
			m.IdempotencyKeys = append(m.IdempotencyKeys, p.req.IdempotencyKey)
		}
	}
	if len(m.IdempotencyKeys) > 0 {
		m.IdempotencyKey = m.IdempotencyKeys[0]
		if len(m.IdempotencyKeys) == 1 {
			m.IdempotencyKeys = nil // one key: the field clients know says it all
		}
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
	expired, err := s.commitNew(ctx, m, prevM, exists, recs, nil)
	if err != nil {
		failAdmitted(batch, err)
		return nil
	}
	for _, p := range batch {
		if p.ok {
			p.m = m
		}
	}
	if !live && exists {
		// The name lives again: its tombstone must not hide it from a
		// rebuild.
		if err := s.objects.Delete(ctx, tombstoneKey(name)); err != nil {
			s.log.Error("catalog: remove tombstone", "dataset", name, "err", err)
		}
	}
	return &Change{Name: name, Version: m.Version, Manifest: &m, Pruned: expired}
}

func failAdmitted(batch []*pendingReg, err error) {
	for _, p := range batch {
		if p.ok {
			p.ok, p.err = false, err
		}
	}
}

// admit applies the registration rules (ADR-020) to one request against
// the version being built (cur; nil for a dataset that is not live). It
// returns the version with the request folded in, nil when the request
// is a replay (p.existing, p.m set) or an error for this request alone.
func (s *Store) admit(ctx context.Context, p *pendingReg, cur *Manifest, keys map[string]*pendingReg) (*Manifest, error) {
	req := p.req
	p.newFiles = req.Files
	if req.Append {
		p.content = "parts:" + req.SchemaFingerprint + ":" + joinKeys(req.Files)
	}
	next := &Manifest{Name: req.Name, Schema: req.Schema, SchemaFingerprint: req.SchemaFingerprint,
		Files: req.Files, RowCount: req.RowCount, Source: req.Source}
	if req.Append {
		next = appendFiles(cur, req)
	}
	if !req.Append {
		p.content = "hash:" + contentHash(next.SchemaFingerprint, next.Files)
	}
	if req.IdempotencyContent != "" {
		p.content = "given:" + req.IdempotencyContent
	}
	next.Key = keptKey(cur, req, next.Schema)
	if req.IdempotencyKey != "" && cur != nil {
		if q, ok := keys[req.IdempotencyKey]; ok {
			if q.content != p.content {
				return nil, fmt.Errorf("catalog: %q idempotency key %q: %w", req.Name, req.IdempotencyKey, ErrIdempotencyConflict)
			}
			// The same request twice in one batch: the second is a
			// replay of the version the first is in.
			p.existing, p.ok = true, true
			return nil, nil
		}
		m, found, err := s.replayOf(ctx, req, cur, p.content)
		if err != nil {
			return nil, err
		}
		if found {
			p.m, p.existing = m, true
			// The key's version expired and replayOf answered cur: when
			// that is this batch's own version (not committed yet) the
			// caller gets it, numbered, once it is.
			p.ok = m.Version == 0
			return nil, nil
		}
	}
	if cur != nil {
		replay := contentHash(cur.SchemaFingerprint, cur.Files) == contentHash(next.SchemaFingerprint, next.Files) && !req.Append
		if req.Append && cur.SchemaFingerprint == req.SchemaFingerprint {
			held, err := s.holdsOrAbsorbed(ctx, *cur, p.newFiles)
			if err != nil {
				return nil, err
			}
			replay = held
		}
		if replay {
			p.m, p.existing = *cur, true
			// When cur is this batch's own version (not committed yet,
			// Version 0) the caller gets it once it is.
			p.ok = cur.Version == 0
			return nil, nil
		}
		if req.BaseVersion > 0 && cur.Version != req.BaseVersion {
			return nil, fmt.Errorf("catalog: %q was built on version %d, the latest is %d: %w", req.Name, req.BaseVersion, cur.Version, ErrBaseMoved)
		}
		if cur.SchemaFingerprint != req.SchemaFingerprint && !req.AllowSchemaChange {
			if len(req.Schema) > 0 {
				return nil, CheckDrift(req.Name, cur, req.Schema)
			}
			return nil, &DriftError{Name: req.Name, OldFingerprint: cur.SchemaFingerprint, NewFingerprint: req.SchemaFingerprint}
		}
	}
	if cur == nil && req.BaseVersion > 0 {
		return nil, fmt.Errorf("catalog: %q was built on version %d, which is gone: %w", req.Name, req.BaseVersion, ErrBaseMoved)
	}
	var known Manifest
	if cur != nil {
		known = *cur
	}
	if !req.FilesVerified {
		if err := s.checkFiles(ctx, known, next.Files); err != nil {
			return nil, err
		}
	} else if err := s.checkNotSwept(ctx, known, p.newFiles); err != nil {
		return nil, err
	}
	p.ok = true
	if req.IdempotencyKey != "" {
		keys[req.IdempotencyKey] = p
	}
	next.Version = 0 // not committed yet
	return next, nil
}

// appendFiles is cur with an append's files after its own, nullability
// the union of both schemas, the row count summed.
func appendFiles(cur *Manifest, req RegisterRequest) *Manifest {
	next := &Manifest{Name: req.Name, Schema: slices.Clone(req.Schema), SchemaFingerprint: req.SchemaFingerprint, Source: req.Source}
	if cur != nil {
		next.Files = append(slices.Clone(cur.Files), req.Files...)
		for i := range next.Schema {
			if i < len(cur.Schema) && cur.Schema[i].Nullable {
				next.Schema[i].Nullable = true
			}
		}
		if next.Source == "" {
			next.Source = cur.Source
		}
	} else {
		next.Files = slices.Clone(req.Files)
	}
	for _, f := range next.Files {
		next.RowCount += f.Rows
	}
	return next
}

// keptKey is the key a new version declares: the request's, else the
// latest version's while schema still holds every one of its columns.
func keptKey(cur *Manifest, req RegisterRequest, schema []Column) []string {
	if len(req.Key) > 0 {
		return slices.Clone(req.Key)
	}
	if cur == nil || len(cur.Key) == 0 {
		return nil
	}
	for _, k := range cur.Key {
		if !slices.ContainsFunc(schema, func(c Column) bool { return c.Name == k }) {
			return nil
		}
	}
	return slices.Clone(cur.Key)
}

func joinKeys(files []File) string {
	keys := make([]string, len(files))
	for i, f := range files {
		keys[i] = f.Key
	}
	return strings.Join(keys, ",")
}

// idemRecord is one idempotency key a version records.
type idemRecord struct{ key, content string }

// replayOf looks an idempotency key up: the version it made when the
// request matches what was recorded (the latest version when that one
// has expired), ErrIdempotencyConflict when it does not, found=false for
// a key never used.
func (s *Store) replayOf(ctx context.Context, req RegisterRequest, cur *Manifest, content string) (Manifest, bool, error) {
	var version int
	var recorded string
	err := s.db.QueryRowContext(ctx, `SELECT version, content FROM idempotency_keys WHERE name = ? AND key = ?`,
		req.Name, req.IdempotencyKey).Scan(&version, &recorded)
	if errors.Is(err, sql.ErrNoRows) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("catalog: idempotency lookup: %w", err)
	}
	m, merr := s.versionRow(ctx, req.Name, version)
	if merr != nil && !errors.Is(merr, sql.ErrNoRows) {
		return Manifest{}, false, merr
	}
	same := recorded == content
	if !same && req.Append && strings.HasPrefix(recorded, "hash:") && merr == nil {
		// Recorded before keys kept their own content: a replayed append
		// finds its files in the key's version.
		same = holds(m, req.Files) && m.SchemaFingerprint == req.SchemaFingerprint
	}
	if !same {
		return Manifest{}, false, fmt.Errorf("catalog: %q idempotency key %q: %w", req.Name, req.IdempotencyKey, ErrIdempotencyConflict)
	}
	if merr != nil { // the key's version expired: the dataset holds it on
		return *cur, true, nil
	}
	return m, true, nil
}

func (s *Store) versionRow(ctx context.Context, name string, version int) (Manifest, error) {
	return scanManifest(s.db.QueryRowContext(ctx, `SELECT manifest FROM dataset_versions WHERE name = ? AND version = ?`, name, version))
}

// holdsOrAbsorbed reports whether m holds every one of files, directly
// or compacted into a part it holds.
func (s *Store) holdsOrAbsorbed(ctx context.Context, m Manifest, files []File) (bool, error) {
	have := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		have[f.Key] = true
	}
	for _, f := range files {
		key := f.Key
		for hops := 0; !have[key]; hops++ {
			var into string
			err := s.db.QueryRowContext(ctx, `SELECT into_key FROM absorbed_parts WHERE name = ? AND key = ?`, m.Name, key).Scan(&into)
			if errors.Is(err, sql.ErrNoRows) || hops > 64 {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("catalog: absorbed parts: %w", err)
			}
			key = into
		}
	}
	return true, nil
}

// checkNotSwept guards the one race between a writer and maintenance: a
// writer that found its content-addressed part already in storage (and
// so did not write it) while maintenance was deleting that very object
// as unreferenced. A part being deleted now is refused (retry); a part
// deleted lately is looked at again, and refused when it is gone.
func (s *Store) checkNotSwept(ctx context.Context, prev Manifest, files []File) error {
	for _, f := range files {
		s.sweptMu.Lock()
		_, swept := s.swept[f.Key]
		deleting := s.deleting[f.Key]
		s.sweptMu.Unlock()
		if (!swept && !deleting) || slices.ContainsFunc(prev.Files, func(g File) bool { return g.Key == f.Key }) {
			continue
		}
		if deleting {
			return fmt.Errorf("%w: part %q is being removed by maintenance; send it again", ErrRetry, f.Key)
		}
		if _, err := s.objects.Stat(ctx, f.Key); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: part %q was removed by maintenance while this write was in flight; send it again", ErrRetry, f.Key)
		} else if err != nil {
			return fmt.Errorf("catalog: stat %s: %w", f.Key, err)
		}
	}
	return nil
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
	rows := make([][]any, len(m.Files))
	for i, f := range m.Files {
		rows[i] = []any{m.Name, m.Version, f.Key, f.Bytes, f.Rows, f.SHA256}
	}
	if err := insertRows(ctx, tx, `INSERT INTO dataset_files (name, version, key, bytes, rows, sha256)`, rows); err != nil {
		return fmt.Errorf("catalog: insert files of %q v%d: %w", m.Name, m.Version, err)
	}
	return nil
}
