package pathway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Options configure a Service.
type Options struct {
	// CompactBytes: compact automatically once the log exceeds this and
	// is at least twice its size after the last compaction (0 = never).
	CompactBytes int64
	// Logger receives replay warnings and compaction results.
	Logger *slog.Logger
}

// Service is the Store implementation: in-memory state rebuilt from, and
// made durable by, the JSONL log. Safe for concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
	path string

	mu     sync.RWMutex // guards st; writers also append to p under it
	st     *state
	p      *persistor
	lock   *fileLock
	replay ReplayStats

	compacting atomic.Bool // an automatic compaction is scheduled or running
	compactMu  sync.Mutex  // one compaction at a time
	bg         sync.WaitGroup
	sem        atomic.Pointer[semantic]
}

var _ Store = (*Service)(nil)

// Open replays the log at path (creating its directory; a missing file is
// an empty store) and opens it for appending. The log is locked against a
// second process.
func Open(path string, opts Options) (*Service, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	p, err := openPersistor(path)
	if err != nil {
		return nil, err
	}
	lk, err := lockFile(path + ".lock")
	if err != nil {
		p.close()
		return nil, err
	}
	st := newState()
	rs, err := replayFile(path, st, log)
	if err == nil {
		err = removeStaleCompaction(path)
	}
	if err == nil {
		err = p.terminateTail()
	}
	if err != nil {
		p.close()
		lk.release()
		return nil, err
	}
	if rs.Corrupted > 0 || rs.ApplyErrors > 0 {
		log.Warn("pathway: log replayed with skipped lines", "path", path,
			"lines", rs.Lines, "corrupted", rs.Corrupted, "apply_errors", rs.ApplyErrors)
	}
	return &Service{opts: opts, log: log, path: path, st: st, p: p, lock: lk, replay: rs}, nil
}

// Close waits for background work, drains the log and releases it.
func (s *Service) Close() error {
	if sem := s.sem.Swap(nil); sem != nil {
		sem.stop()
	}
	s.bg.Wait()
	err := s.p.close()
	s.lock.release()
	return err
}

// ReplayStats returns what the start-up replay found.
func (s *Service) ReplayStats() ReplayStats { return s.replay }

// Path is the log file.
func (s *Service) Path() string { return s.path }

// now returns a timestamp later than every one stored, so updated_at_ns
// strictly increases even when the wall clock repeats or steps back.
// Caller holds s.mu.
func (s *Service) now() int64 {
	n := time.Now().UnixNano()
	if n <= s.st.lastNs {
		n = s.st.lastNs + 1
	}
	return n
}

// write applies r to the state and appends it to the log under the state
// lock, then waits (without the lock) until it is durable. It returns a
// clone of the affected trace.
func (s *Service) write(ctx context.Context, build func() (*record, error)) (*Trace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if err := s.p.usable(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	r, err := build()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	line, err := r.encode()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	e, err := s.st.apply(r)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	seq, err := s.p.append(line)
	if err != nil {
		// Unreachable in practice (usable was checked under the lock);
		// the state now differs from the log, so poisoning is right.
		s.mu.Unlock()
		return nil, err
	}
	e.seq = seq
	out := e.t.Clone()
	s.mu.Unlock()
	if err := s.p.wait(seq); err != nil {
		return nil, err
	}
	s.afterWrite(r, out)
	return out, nil
}

// afterWrite feeds the semantic index and triggers automatic compaction.
func (s *Service) afterWrite(r *record, t *Trace) {
	if sem := s.sem.Load(); sem != nil {
		switch r.Op {
		case opRetire:
			sem.remove(t.UID)
		case opReplay:
		default:
			sem.touch(t.UID)
		}
	}
	if s.opts.CompactBytes <= 0 {
		return
	}
	size, base := s.p.sizes()
	if size > s.opts.CompactBytes && size >= 2*base && s.compacting.CompareAndSwap(false, true) {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			defer s.compacting.Store(false)
			res, err := s.compact()
			if err != nil {
				s.log.Error("pathway: automatic compaction failed", "err", err)
				return
			}
			s.log.Info("pathway: log compacted", "before_bytes", res.BeforeBytes, "after_bytes", res.AfterBytes,
				"traces", res.Traces, "ms", res.DurationMs, "writers_held_ms", res.StallMs)
		}()
	}
}

// Add implements Store.
func (s *Service) Add(ctx context.Context, in NewTrace) (*Trace, error) {
	content, err := normalizeContent(in.Content)
	if err != nil {
		return nil, err
	}
	uid := uuid.NewString()
	return s.write(ctx, func() (*record, error) {
		ts := s.now()
		return &record{Op: opAdd, Trace: &Trace{UID: uid, Content: content, CreatedAtNs: ts, UpdatedAtNs: ts,
			Tags: cloneTags(in.Tags), Kind: in.Kind}}, nil
	})
}

// AddIdempotent implements Store.
func (s *Service) AddIdempotent(ctx context.Context, uid string, in NewTrace) (*Trace, bool, error) {
	if err := checkUID(uid); err != nil {
		return nil, false, err
	}
	content, err := normalizeContent(in.Content)
	if err != nil {
		return nil, false, err
	}
	replayed := false
	t, err := s.write(ctx, func() (*record, error) {
		if _, ok := s.st.traces[uid]; ok {
			replayed = true
			return &record{Op: opReplay, UID: uid, TsNs: s.now()}, nil
		}
		ts := s.now()
		return &record{Op: opAdd, Trace: &Trace{UID: uid, Content: content, CreatedAtNs: ts, UpdatedAtNs: ts,
			Tags: cloneTags(in.Tags), Kind: in.Kind}}, nil
	})
	return t, replayed, err
}

// Update implements Store.
func (s *Service) Update(ctx context.Context, uid string, content json.RawMessage, tags []string) (*Trace, error) {
	if uid == "" {
		return nil, fmt.Errorf("%w: uid is required", ErrInvalid)
	}
	c, err := normalizeContent(content)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, func() (*record, error) {
		if _, err := s.st.lookup(uid); err != nil {
			return nil, err
		}
		r := &record{Op: opUpdate, UID: uid, Content: c, TsNs: s.now()}
		if tags != nil {
			tg := cloneTags(tags)
			if tg == nil {
				tg = []string{}
			}
			r.Tags = &tg
		}
		return r, nil
	})
}

// Revise implements Store. The new trace inherits the predecessor's tags
// and kind unless in sets them; the predecessor stays active.
func (s *Service) Revise(ctx context.Context, predecessorUID string, in NewTrace) (*Trace, error) {
	if predecessorUID == "" {
		return nil, fmt.Errorf("%w: predecessor_uid is required", ErrInvalid)
	}
	content, err := normalizeContent(in.Content)
	if err != nil {
		return nil, err
	}
	uid := uuid.NewString()
	return s.write(ctx, func() (*record, error) {
		pred, err := s.st.lookup(predecessorUID)
		if err != nil {
			return nil, fmt.Errorf("%w: predecessor %q", ErrNotFound, predecessorUID)
		}
		tags, kind := cloneTags(in.Tags), in.Kind
		if in.Tags == nil {
			tags = cloneTags(pred.t.Tags)
		}
		if kind == "" {
			kind = pred.t.Kind
		}
		ts := s.now()
		return &record{Op: opRevise, Trace: &Trace{UID: uid, Content: content, PredecessorUID: predecessorUID,
			CreatedAtNs: ts, UpdatedAtNs: ts, Tags: tags, Kind: kind}}, nil
	})
}

// Retire implements Store. Retiring a retired trace is a no-op success.
func (s *Service) Retire(ctx context.Context, uid string) (*Trace, error) {
	return s.write(ctx, func() (*record, error) {
		if _, err := s.st.lookup(uid); err != nil {
			return nil, err
		}
		return &record{Op: opRetire, UID: uid, TsNs: s.now()}, nil
	})
}

// Get implements Store.
func (s *Service) Get(ctx context.Context, uid string) (*Trace, error) {
	s.mu.RLock()
	e, err := s.st.lookup(uid)
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	out, seq := e.t.Clone(), e.seq
	s.mu.RUnlock()
	return out, s.visible(seq)
}

// visible waits until the change with log sequence seq is durable, so a
// reader never sees a write that a crash could still lose.
func (s *Service) visible(seq uint64) error {
	if seq == 0 {
		return nil
	}
	return s.p.wait(seq)
}

// History implements Store.
func (s *Service) History(ctx context.Context, uid string) ([]*Trace, error) {
	s.mu.RLock()
	var (
		chain  []*Trace
		maxSeq uint64
		seen   = map[string]bool{}
		cur    = uid
	)
	for cur != "" {
		e, ok := s.st.traces[cur]
		if !ok {
			if len(chain) == 0 {
				s.mu.RUnlock()
				return nil, fmt.Errorf("%w: %q", ErrNotFound, uid)
			}
			break // the chain's start was lost: truncate cleanly
		}
		if seen[cur] {
			s.mu.RUnlock()
			return chain, fmt.Errorf("%w: %q is reached twice walking back from %q", ErrCycle, cur, uid)
		}
		seen[cur] = true
		chain = append(chain, e.t.Clone())
		maxSeq = max(maxSeq, e.seq)
		cur = e.t.PredecessorUID
	}
	s.mu.RUnlock()
	return chain, s.visible(maxSeq)
}

// Stats implements Store.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.stats(), nil
}

// LogStats describes the log file for /v1/pathway/stats.
type LogStats struct {
	Path   string      `json:"path"`
	Bytes  int64       `json:"bytes"`
	Fsyncs uint64      `json:"fsyncs"`
	Replay ReplayStats `json:"replay"`
}

// LogStats returns the log's size, fsync count and replay result.
func (s *Service) LogStats() LogStats {
	size, _ := s.p.sizes()
	return LogStats{Path: s.path, Bytes: size, Fsyncs: s.p.fsyncs(), Replay: s.replay}
}

// checkUID validates a caller-chosen uid.
func checkUID(uid string) error {
	if uid == "" {
		return fmt.Errorf("%w: uid is required", ErrInvalid)
	}
	if len(uid) > 512 {
		return fmt.Errorf("%w: uid longer than 512 bytes", ErrInvalid)
	}
	if !utf8.ValidString(uid) {
		return fmt.Errorf("%w: uid is not valid UTF-8", ErrInvalid)
	}
	for _, r := range uid {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: uid contains a control character", ErrInvalid)
		}
	}
	return nil
}

// IsClientError reports whether err is the caller's fault (4xx).
func IsClientError(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrInvalidContent) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) || errors.Is(err, ErrCycle)
}
