package vector

import (
	"context"
	"fmt"
	"io"
	"time"
)

// compact writes a snapshot at the current sequence and deletes the WAL
// segments it covers. Tombstones are compacted away first when they are
// more than a quarter of the graph. Batches wait while it runs (writeMu);
// searches do not.
func (s *service) compact(ctx context.Context, ix *index) error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	return s.compactLocked(ctx, ix, false)
}

// compactLocked is compact with writeMu held; purge rebuilds the graph
// whatever the share of tombstones, so nothing of a deleted item (its
// vector included) is in the snapshot (erasure).
func (s *service) compactLocked(ctx context.Context, ix *index, purge bool) error {
	ix.compacting = false
	if ix.dropped || (!purge && len(ix.walSeqs) == 0 && ix.snapSeq == ix.seq) {
		return nil
	}
	start := time.Now()
	if dead := ix.g.Len() - ix.live; dead > 0 && (purge || dead > 256 && dead*4 > ix.g.Len()) {
		c, err := ix.rebuilt()
		if err != nil {
			return fmt.Errorf("vector: compact %q: rebuild: %w", ix.spec.Name, err)
		}
		ix.mu.Lock()
		old := ix.g
		ix.g, ix.ids, ix.meta, ix.texts, ix.kw, ix.byID = c.g, c.ids, c.meta, c.texts, c.kw, c.byID
		ix.mu.Unlock()
		release(old) // no search holds it any more (they hold mu)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(ix.writeSnapshot(pw)) }()
	_, err := s.store.Put(ctx, snapKey(ix.spec.Name), pr, -1)
	pr.CloseWithError(err) // unblocks the writer if Put failed early
	if err != nil {
		return fmt.Errorf("vector: write snapshot of %q: %w", ix.spec.Name, err)
	}
	for _, seq := range ix.walSeqs {
		if err := s.store.Delete(ctx, segKey(ix.spec.Name, seq)); err != nil {
			s.log.Warn("vector: delete compacted WAL segment", "index", ix.spec.Name, "seq", seq, "err", err)
		}
	}
	s.log.Info("vector index compacted", "index", ix.spec.Name, "seq", ix.seq, "segments", len(ix.walSeqs),
		"elapsed", time.Since(start).Round(time.Millisecond).String())
	ix.snapSeq, ix.walSeqs, ix.walBytes, ix.lastSnap = ix.seq, nil, 0, time.Now()
	return nil
}

// maybeCompact queues a background compaction when the WAL outgrew its
// budget. Call with writeMu held.
func (s *service) maybeCompact(ix *index) {
	limit := int64(s.cfg.CompactWALBytes)
	if ix.compacting || ((limit <= 0 || ix.walBytes < limit) && len(ix.walSeqs) < maxWALSegments) {
		return
	}
	s.startCompaction(ix)
}

// startCompaction runs compact in the background. Call with writeMu held.
func (s *service) startCompaction(ix *index) {
	ix.compacting = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.compact(context.Background(), ix); err != nil {
			s.log.Error("vector: compaction failed", "index", ix.spec.Name, "err", err)
		}
	}()
}

// run compacts, every check interval, indexes whose WAL is older than
// compact_interval: a quiet index still ends up as one snapshot.
func (s *service) run() {
	defer s.wg.Done()
	every := s.cfg.CompactInterval.D()
	if every <= 0 {
		return
	}
	t := time.NewTicker(min(every, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.RLock()
		all := make([]*index, 0, len(s.indexes))
		for _, ix := range s.indexes {
			all = append(all, ix)
		}
		s.mu.RUnlock()
		for _, ix := range all {
			if !ix.writeMu.TryLock() {
				continue
			}
			due := !ix.compacting && len(ix.walSeqs) > 0 && time.Since(ix.lastSnap) >= every
			if due {
				s.startCompaction(ix)
			}
			ix.writeMu.Unlock()
		}
	}
}
