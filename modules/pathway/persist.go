package pathway

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"lakehouse/internal/fsx"
	"lakehouse/modules/kit"
)

// persistor is the append-only JSONL log with group commit.
//
// Writers append encoded lines to an in-memory buffer (in the order the
// state applied them, because they append while holding the state lock)
// and get a sequence number; then, outside the state lock, they wait until
// that sequence is durable. The first waiter becomes the leader: it takes
// the whole buffer, writes it and fsyncs once, while later writers queue
// up behind it for the next batch. A lone writer therefore pays one fsync
// per write (fsync per write), and N concurrent writers share about one
// fsync per batch. No write is acknowledged before the fsync covering it
// has returned.
//
// A failed write or fsync poisons the persistor: the state in memory may
// now hold a change the log does not, so every later write fails (503)
// until the process restarts and replays the log, which is the truth.
type persistor struct {
	path string

	mu         sync.Mutex
	cond       *sync.Cond
	f          *os.File
	buf        []byte // appended, not yet handed to a leader
	pendingSeq uint64 // last sequence appended
	durableSeq uint64 // last sequence known fsynced
	flushing   bool
	err        error // sticky: set by a failed write/fsync or close
	size       int64 // bytes in the file plus bytes in buf
	baseSize   int64 // size right after open or the last compaction
	syncs      uint64
	// While a compaction writes its snapshot, appended lines are also
	// kept here, to be copied after the snapshot in the new file.
	teeing bool
	tee    []byte
	// ship, when set (object-store backend), makes a batch durable by
	// putting it into the bucket; the file is then only a local copy.
	ship *shipper
}

// errLogFailed wraps the sticky persistor error.
// (503 with Retry-After: the operator must act, the client may retry).
var errLogFailed = kit.NewKind(http.StatusServiceUnavailable, "overloaded", "pathway: log write failed").RetryAfter(30)

// openPersistor opens (creating the parent dir and file) the log for
// appending. It does not replay; see replayFile.
func openPersistor(path string) (*persistor, error) {
	dir := dirOf(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pathway: create log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pathway: open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pathway: stat log: %w", err)
	}
	// The file's directory entry must survive a crash too.
	if err := fsx.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("pathway: %w", err)
	}
	p := &persistor{path: path, f: f, size: st.Size(), baseSize: st.Size()}
	p.cond = sync.NewCond(&p.mu)
	return p, nil
}

// terminateTail appends a newline when the file does not end with one (a
// torn last write), so the next record starts on its own line.
func (p *persistor) terminateTail() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.size == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := p.f.ReadAt(last, p.size-1); err != nil {
		return fmt.Errorf("pathway: read log tail: %w", err)
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := p.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("pathway: terminate torn log tail: %w", err)
	}
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("pathway: fsync log: %w", err)
	}
	p.size++
	p.baseSize = p.size
	return nil
}

// append queues one encoded line (without its newline) and returns its
// sequence number. It never blocks on I/O.
func (p *persistor) append(line []byte) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	p.buf = append(p.buf, line...)
	p.buf = append(p.buf, '\n')
	if p.teeing {
		p.tee = append(p.tee, line...)
		p.tee = append(p.tee, '\n')
	}
	p.size += int64(len(line)) + 1
	p.pendingSeq++
	return p.pendingSeq, nil
}

// startTee starts keeping a copy of every appended line.
func (p *persistor) startTee() {
	p.mu.Lock()
	p.teeing, p.tee = true, nil
	p.mu.Unlock()
}

// stopTee stops teeing and returns the lines kept.
func (p *persistor) stopTee() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tee
	p.teeing, p.tee = false, nil
	return t
}

// usable reports the sticky error, if any.
func (p *persistor) usable() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// wait blocks until seq is durable (or the log failed).
func (p *persistor) wait(seq uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.durableSeq < seq {
		if p.err != nil {
			return p.err
		}
		if p.flushing {
			p.cond.Wait()
			continue
		}
		p.flushLocked()
	}
	return nil
}

// flushLocked writes and fsyncs everything buffered, releasing p.mu during
// the I/O so writers can keep appending to the next batch.
func (p *persistor) flushLocked() {
	batch, target := p.buf, p.pendingSeq
	p.buf = nil
	p.flushing = true
	f := p.f
	p.mu.Unlock()
	var err error
	if len(batch) > 0 {
		if p.ship != nil {
			err = p.ship.ship(f, batch)
		} else if _, err = f.Write(batch); err == nil {
			err = f.Sync()
		}
	}
	p.mu.Lock()
	p.flushing = false
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("%w: %v (restart to replay the log)", errLogFailed, err)
			if p.ship != nil {
				p.err = fmt.Errorf("%w: %v (restart to rebuild from the bucket)", errLogFailed, err)
			}
		}
	} else {
		p.durableSeq = target
		p.syncs++
	}
	p.cond.Broadcast()
}

// exclusive runs fn while no batch is being flushed and none can start
// (writers keep appending and wait), so fn may swap the file and touch
// the shipper.
func (p *persistor) exclusive(fn func() error) error {
	p.mu.Lock()
	for p.flushing {
		p.cond.Wait()
	}
	p.flushing = true
	p.mu.Unlock()
	err := fn()
	p.mu.Lock()
	p.flushing = false
	p.cond.Broadcast()
	p.mu.Unlock()
	return err
}

// drain waits until everything appended so far is durable.
func (p *persistor) drain() error {
	p.mu.Lock()
	seq := p.pendingSeq
	p.mu.Unlock()
	return p.wait(seq)
}

// sizes returns the current log size and its size after the last
// open/compaction.
func (p *persistor) sizes() (size, base int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size, p.baseSize
}

// fsyncs is how many fsyncs covered writes (for the benchmark).
func (p *persistor) fsyncs() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.syncs
}

// swap replaces the open file with the (already renamed-into-place) log
// at p.path. The caller holds the state lock and has drained.
func (p *persistor) swap() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		p.err = fmt.Errorf("%w: reopen after compaction: %v", errLogFailed, err)
		return p.err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		p.err = fmt.Errorf("%w: stat after compaction: %v", errLogFailed, err)
		return p.err
	}
	old := p.f
	p.f, p.size, p.baseSize = f, st.Size(), st.Size()
	return old.Close()
}

// close drains and closes the file; later appends fail with ErrClosed.
func (p *persistor) close() error {
	derr := p.drain()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return derr
	}
	cerr := p.f.Close()
	p.f = nil
	if p.err == nil {
		p.err = ErrClosed
	}
	if derr != nil && !errors.Is(derr, ErrClosed) {
		return derr
	}
	if cerr != nil {
		return fmt.Errorf("pathway: close log: %w", cerr)
	}
	return nil
}

func dirOf(path string) string { return filepath.Dir(path) }
