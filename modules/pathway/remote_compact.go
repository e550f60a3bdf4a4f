package pathway

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// testHookRemoteSnapshotPut runs after a compaction's snapshot is in the
// bucket and before anything it covers is deleted (crash tests stop
// there).
var testHookRemoteSnapshotPut func()

// compactRemote compacts the log in the bucket. The snapshot of the state
// as of the last shipped segment S is put as _pathway/snapshot/S first;
// then the local copy is rewritten as that snapshot plus what was shipped
// since; only then are the segments up to S and the previous snapshot
// deleted. A crash at any point leaves a bucket whose newest snapshot and
// the segments after it are the whole log (a start deletes the rest).
//
// Writers are held only while what they already appended is shipped, so
// that the snapshot is exactly the state as of S, and while the local
// copy is swapped; the snapshot is encoded and put while they write on.
// The caller holds compactMu.
func (s *Service) compactRemote() (CompactResult, error) {
	start := time.Now()
	s.mu.Lock()
	held := time.Now()
	if err := s.p.usable(); err != nil {
		s.mu.Unlock()
		return CompactResult{}, err
	}
	if err := s.p.drain(); err != nil {
		s.mu.Unlock()
		return CompactResult{}, err
	}
	// Everything appended is shipped, and no batch can start while s.mu
	// is held (appending needs it), so the shipper is quiescent.
	sh := s.p.ship
	seq, prevSnap, copyAt := sh.seq, sh.snap.seq, sh.stamp.Bytes
	before, _ := s.p.sizes()
	snap := make([]*Trace, 0, len(s.st.traces))
	for _, e := range s.st.traces {
		snap = append(snap, e.t) // immutable once published (see state.apply)
	}
	stall := msSince(held)
	s.mu.Unlock()
	if seq == prevSnap {
		// Nothing shipped since the last snapshot.
		return CompactResult{BeforeBytes: before, AfterBytes: before, Traces: len(snap),
			DurationMs: msSince(start), StallMs: stall}, nil
	}

	sortSnapshot(snap)
	tmp := s.path + compactSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return CompactResult{}, fmt.Errorf("pathway: compact: create temp: %w", err)
	}
	abort := func(err error) (CompactResult, error) {
		f.Close()
		os.Remove(tmp)
		return CompactResult{}, err
	}
	h := &mirrorWriter{f: f}
	if err := encodeSnapshot(h, snap); err != nil {
		return abort(err)
	}
	if h.err != nil {
		return abort(fmt.Errorf("pathway: compact: write temp: %w", h.err))
	}
	size := h.n
	info, err := sh.store.Put(context.Background(), remoteSnapKey(seq), io.NewSectionReader(f, 0, size), size)
	if err != nil {
		return abort(fmt.Errorf("pathway: compact: put snapshot %s: %w", remoteSnapKey(seq), err))
	}
	if testHookRemoteSnapshotPut != nil {
		testHookRemoteSnapshotPut()
	}

	var stale []string
	held = time.Now()
	err = s.p.exclusive(func() error {
		stale = sh.adoptSnapshot(seq, size, info.ETag)
		s.p.replaceCopy(f, tmp, h, copyAt)
		return nil
	})
	stall += msSince(held)
	deleteKeys(context.Background(), sh.store, stale, s.log)
	after, _ := s.p.sizes()
	return CompactResult{BeforeBytes: before, AfterBytes: after, Traces: len(snap),
		DurationMs: msSince(start), StallMs: stall}, err
}

// replaceCopy makes f (the snapshot just put, at tmp; h counts and hashes
// it) the local copy: the batches the old copy holds from byte from on
// (shipped after the snapshot's point) are appended, the file renamed
// over the log and the stamp rewritten. A local failure only stops the
// copy being kept. Call inside p.exclusive.
func (p *persistor) replaceCopy(f *os.File, tmp string, h *mirrorWriter, from int64) {
	sh := p.ship
	snapSize := h.n
	drop := func(err error) {
		// Without a copy, the sizes still restart from the snapshot's, so
		// the size trigger waits for the log to double again.
		p.mu.Lock()
		p.size, p.baseSize = snapSize+int64(len(p.buf)), snapSize
		p.mu.Unlock()
		f.Close()
		os.Remove(tmp)
		if err != nil {
			sh.mirrorFailed(err)
		}
	}
	if !sh.mirrorOK {
		drop(nil)
		return
	}
	if _, err := io.Copy(h, io.NewSectionReader(p.f, from, sh.stamp.Bytes-from)); err != nil {
		drop(fmt.Errorf("copy the tail of the local log: %w", err))
		return
	}
	if h.err != nil {
		drop(h.err)
		return
	}
	if err := os.Rename(tmp, p.path); err != nil {
		drop(err)
		return
	}
	p.mu.Lock()
	old := p.f
	p.f = f
	p.size, p.baseSize = h.n+int64(len(p.buf)), h.n
	p.mu.Unlock()
	old.Close()
	st := cacheStamp{SnapSeq: sh.snap.seq, SnapETag: sh.snap.etag, SegSeq: sh.snap.seq, Bytes: h.n, CRC: h.crc}
	if n := len(sh.segs); n > 0 {
		st.SegSeq, st.SegETag = sh.segs[n-1].seq, sh.segs[n-1].etag
	}
	sh.stamp = st
	if err := sh.writeStamp(); err != nil {
		sh.mirrorFailed(err)
	}
}
