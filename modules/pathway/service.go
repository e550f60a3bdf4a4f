package pathway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"lakehouse/modules/storage"
)

// Options configure a Service.
type Options struct {
	// CompactBytes: compact automatically once the log exceeds this and
	// is at least twice its size after the last compaction (0 = never).
	CompactBytes int64
	// Logger receives replay warnings and compaction results.
	Logger *slog.Logger
	// MaxJSONDepth caps content nesting (0 = jsonx.DefaultMaxDepth).
	MaxJSONDepth int
	// MaxAnswerBytes bounds the content one Search or History returns
	// (0 = DefaultMaxAnswerBytes); at least one trace is always returned.
	MaxAnswerBytes int64
	// Remote, when set (storage.backend = "s3"), is where the log lives:
	// every batch is put into it as a segment before it is acknowledged,
	// a start rebuilds from it, and the file at path is only a local copy
	// (see remote.go). Nil keeps the local file as the durable log.
	Remote storage.Store
}

// DefaultMaxAnswerBytes bounds the content of one Search or History
// answer: a thousand 4 MiB traces would otherwise be cloned into one
// 4 GB answer.
const DefaultMaxAnswerBytes = 64 << 20

// answerBytes is the content budget of one answer.
func (s *Service) answerBytes() int64 {
	if s.opts.MaxAnswerBytes > 0 {
		return s.opts.MaxAnswerBytes
	}
	return DefaultMaxAnswerBytes
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
	source string // where the start-up replay read (see ReplaySource)

	compacting atomic.Bool // an automatic compaction is scheduled or running
	compactMu  sync.Mutex  // one compaction at a time
	bg         sync.WaitGroup
	sem        atomic.Pointer[semantic]
}

var _ Store = (*Service)(nil)

// Open replays the log at path (creating its directory; a missing file is
// an empty store) and opens it for appending. The log is locked against a
// second process. With opts.Remote it rebuilds from the bucket instead
// (see OpenContext).
func Open(path string, opts Options) (*Service, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open with a context for reading the bucket when
// opts.Remote is set.
func OpenContext(ctx context.Context, path string, opts Options) (*Service, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Remote != nil {
		return openRemote(ctx, path, opts, log)
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
	return &Service{opts: opts, log: log, path: path, st: st, p: p, lock: lk, replay: rs, source: "local"}, nil
}

// openRemote locks the local log, rebuilds the state from the bucket and
// opens the local copy for appending behind the shipper.
func openRemote(ctx context.Context, path string, opts Options, log *slog.Logger) (*Service, error) {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return nil, fmt.Errorf("pathway: create log dir: %w", err)
	}
	lk, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	if err := removeStaleCompaction(path); err != nil {
		lk.release()
		return nil, err
	}
	ld, err := loadRemote(ctx, opts.Remote, path, log)
	if err != nil {
		lk.release()
		return nil, err
	}
	p, err := openPersistor(path)
	if err != nil {
		lk.release()
		return nil, err
	}
	p.ship = ld.sh
	if ld.rs.Corrupted > 0 || ld.rs.ApplyErrors > 0 {
		log.Warn("pathway: log replayed from the bucket with skipped lines",
			"lines", ld.rs.Lines, "corrupted", ld.rs.Corrupted, "apply_errors", ld.rs.ApplyErrors)
	}
	return &Service{opts: opts, log: log, path: path, st: ld.st, p: p, lock: lk, replay: ld.rs, source: ld.source}, nil
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

// ReplaySource says where the start-up replay read: "local" (the log
// file is the durable store), "bucket" (rebuilt from the bucket),
// "cache+bucket" (the local copy, then newer segments from the bucket) or
// "local import" (a local-backend log moved into an empty bucket).
func (s *Service) ReplaySource() string { return s.source }

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
	if s.compactDue() && s.compacting.CompareAndSwap(false, true) {
		s.bg.Add(1)
		go s.compactWhileDue()
	}
}

// compactWhileDue runs automatic compactions until the log is no longer
// due. The caller set s.compacting. Writes that land while a compaction
// runs find compacting set and schedule nothing; if they pushed the log past
// the limit again, it is compacted now rather than at the next write, which
// may never come. The re-check after clearing the flag closes the window
// where a write saw the flag still set.
func (s *Service) compactWhileDue() {
	defer s.bg.Done()
	for {
		res, err := s.compact()
		if err != nil {
			s.compacting.Store(false)
			s.log.Error("pathway: automatic compaction failed", "err", err)
			return
		}
		s.log.Info("pathway: log compacted", "before_bytes", res.BeforeBytes, "after_bytes", res.AfterBytes,
			"traces", res.Traces, "ms", res.DurationMs, "writers_held_ms", res.StallMs)
		s.compacting.Store(false)
		if res.AfterBytes >= res.BeforeBytes {
			return // nothing left to fold: another round would spin
		}
		if !s.compactDue() || !s.compacting.CompareAndSwap(false, true) {
			return
		}
	}
}

// compactDue says whether the log has grown enough to compact: past
// compact_bytes and at least twice what the last compaction left, or (when
// shipped to a bucket) past the segment count a new node must replay.
func (s *Service) compactDue() bool {
	if s.opts.CompactBytes > 0 {
		size, base := s.p.sizes()
		if size > s.opts.CompactBytes && size >= 2*base {
			return true
		}
	}
	// A new node reads every segment after the snapshot at start: keep
	// their number bounded whatever compact_bytes says.
	sh := s.p.ship
	return sh != nil && sh.live.Load() >= maxRemoteSegments
}
