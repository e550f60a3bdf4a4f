package observer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"lakehouse/modules/storage"
)

// Object layout under the store: immutable JSONL segments named by the id
// range they hold, plus a checkpoint of the counters over every event in
// segments up to its LastID (so a restart need not read all history).
const (
	segmentPrefix = "_observer/events/"
	statsKey      = "_observer/stats.json"
)

// pendingLine is one encoded event waiting for its segment.
type pendingLine struct {
	id      int64
	source  string
	success bool
	line    []byte
}

// persister batches recorded events into JSONL segment objects. Record
// only queues (never blocks on I/O); one goroutine flushes every interval
// or when enough events are pending. A failed flush is logged and counted,
// the batch stays queued for the next try, and requests never see it.
type persister struct {
	store      storage.Store
	log        *slog.Logger
	obs        *Observer
	flushEvery int
	maxPending int
	compactAt  int

	mu      sync.Mutex
	pending []pendingLine
	dropped int64
	lastErr string
	kick    chan struct{}
	// copies of durableID and len(segments) for status, which must not
	// wait behind a slow flush.
	shownID   int64
	shownSegs int

	// Touched only by the flushing goroutine (flushMu).
	flushMu   sync.Mutex
	durable   counters // counters over events in segments
	durableID int64    // highest id in a segment
	segments  []segment
	sinceComp int
}

func newPersister(store storage.Store, obs *Observer, log *slog.Logger, flushEvery, maxPending, compactAt int) *persister {
	return &persister{
		store: store, obs: obs, log: log, flushEvery: flushEvery, maxPending: maxPending,
		compactAt: compactAt, kick: make(chan struct{}, 1), durable: counters{BySource: map[string]int64{}},
	}
}

// enqueue is the Observer hook: it runs under the observer lock, so lines
// arrive in id order.
func (p *persister) enqueue(ev Event, line []byte) {
	p.mu.Lock()
	p.pending = append(p.pending, pendingLine{id: ev.ID, source: ev.Source, success: ev.Success, line: line})
	if over := len(p.pending) - p.maxPending; over > 0 {
		// The store has been failing for a long time: keep memory bounded
		// by giving up on the oldest queued events, and say so.
		p.pending = append(p.pending[:0:0], p.pending[over:]...)
		p.dropped += int64(over)
		p.obs.persistFailures.Add(int64(over))
		p.log.Error("observer: persistence backlog full, dropped oldest pending events", "dropped", over)
	}
	n := len(p.pending)
	p.mu.Unlock()
	if n >= p.flushEvery {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// run flushes on every tick or kick until ctx ends, then flushes once more.
func (p *persister) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
		_ = p.flush(ctx)
	}
}

// flush writes every pending event as one segment. On failure the batch is
// put back in front of the queue.
func (p *persister) flush(ctx context.Context) error {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	p.mu.Lock()
	batch := p.pending
	p.pending = nil
	p.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, pl := range batch {
		buf.Write(pl.line)
		buf.WriteByte('\n')
	}
	seg := segment{first: batch[0].id, last: batch[len(batch)-1].id, size: int64(buf.Len())}
	if _, err := p.store.Put(ctx, seg.key(), bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		p.fail(batch, fmt.Errorf("observer: write segment %s: %w", seg.key(), err))
		return err
	}
	for i := range batch {
		p.durable.add(&Event{Source: batch[i].source, Success: batch[i].success})
	}
	p.durableID = seg.last
	p.segments = append(p.segments, seg)
	p.sinceComp++
	p.mu.Lock()
	p.lastErr = ""
	p.shownID, p.shownSegs = p.durableID, len(p.segments)
	p.mu.Unlock()
	if err := p.writeCheckpoint(ctx); err != nil {
		// Not fatal: replay reads the segments after the older checkpoint.
		p.obs.persistFailures.Add(1)
		p.setErr(err)
		p.log.Warn("observer: checkpoint failed", "err", err)
	}
	if p.sinceComp >= p.compactAt {
		p.sinceComp = 0
		if err := p.compact(ctx); err != nil {
			p.log.Warn("observer: compaction failed", "err", err)
		}
	}
	return nil
}

func (p *persister) fail(batch []pendingLine, err error) {
	if errors.Is(err, context.Canceled) {
		// Shutdown interrupted the write; Stop flushes again. Not a
		// failure of the store.
		p.log.Debug("observer: flush interrupted by shutdown", "events", len(batch))
	} else {
		p.obs.persistFailures.Add(1)
		p.setErr(err)
		p.log.Error("observer: persist failed; events stay queued", "events", len(batch), "err", err)
	}
	p.mu.Lock()
	p.pending = append(batch, p.pending...)
	if over := len(p.pending) - p.maxPending; over > 0 {
		p.pending = append(p.pending[:0:0], p.pending[over:]...)
		p.dropped += int64(over)
		p.obs.persistFailures.Add(int64(over))
	}
	p.mu.Unlock()
}

func (p *persister) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err.Error()
	p.mu.Unlock()
}

// checkpoint is the stats object: counters over every event in segments
// with an id up to LastID.
type checkpoint struct {
	LastID int64 `json:"last_id"`
	counters
}

func (p *persister) writeCheckpoint(ctx context.Context) error {
	b, err := json.Marshal(checkpoint{LastID: p.durableID, counters: p.durable})
	if err != nil {
		return fmt.Errorf("observer: encode checkpoint: %w", err)
	}
	if _, err := p.store.Put(ctx, statsKey, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("observer: write checkpoint: %w", err)
	}
	return nil
}

// PersistStatus is the persistence part of GET /v1/observer/health.
type PersistStatus struct {
	Enabled   bool   `json:"enabled"`
	Pending   int    `json:"pending"`
	Dropped   int64  `json:"dropped"`
	DurableID int64  `json:"durable_id"`
	Segments  int    `json:"segments"`
	LastError string `json:"last_error,omitempty"`
}

func (p *persister) status() PersistStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PersistStatus{Enabled: true, Pending: len(p.pending), Dropped: p.dropped, LastError: p.lastErr,
		DurableID: p.shownID, Segments: p.shownSegs}
}
