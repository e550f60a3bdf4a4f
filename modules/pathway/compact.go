package pathway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"lakehouse/internal/fsx"
)

// CompactResult reports one compaction.
type CompactResult struct {
	BeforeBytes int64   `json:"before_bytes"`
	AfterBytes  int64   `json:"after_bytes"`
	Traces      int     `json:"traces"`
	DurationMs  float64 `json:"duration_ms"`
	// StallMs is how long writers were held: the snapshot copy, then the
	// tail copy and the swap.
	StallMs float64 `json:"stall_ms"`
}

// compactSuffix names the temporary file a compaction writes; a leftover
// one (crash mid-compaction) is removed at open, the real log untouched.
const compactSuffix = ".compact.tmp"

// testHookCompactSnapshotWritten runs after the snapshot is written and
// before writers are held (tests write there to prove they are not held).
var testHookCompactSnapshotWritten func()

// Compact rewrites the log as one add record per trace (retired flags,
// replay counts and links included), atomically: temp file, fsync,
// rename over the log, fsync the directory. The state is unchanged.
//
// Writers are not held while the snapshot is written: the snapshot is
// taken under the state lock (pointers to the traces, which are copy on
// write), and from then on every appended line is also teed aside. Only
// at the end are writers held, while the old log is drained, the teed
// tail appended to the new file and fsynced, and the files swapped.
func (s *Service) Compact(ctx context.Context) (CompactResult, error) {
	if err := ctx.Err(); err != nil {
		return CompactResult{}, err
	}
	return s.compact()
}

func (s *Service) compact() (CompactResult, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if s.p.ship != nil {
		return s.compactRemote()
	}
	start := time.Now()

	s.mu.Lock()
	snapHeld := time.Now()
	if err := s.p.usable(); err != nil {
		s.mu.Unlock()
		return CompactResult{}, err
	}
	snap := make([]*Trace, 0, len(s.st.traces))
	for _, e := range s.st.traces {
		snap = append(snap, e.t) // immutable once published (see state.apply)
	}
	s.p.startTee()
	snapMs := msSince(snapHeld)
	s.mu.Unlock()

	sortSnapshot(snap)
	tmp := s.path + compactSuffix
	f, err := writeSnapshot(tmp, snap)
	abort := func(err error) (CompactResult, error) {
		if f != nil {
			f.Close()
		}
		os.Remove(tmp)
		s.p.stopTee()
		return CompactResult{}, err
	}
	if err != nil {
		return abort(err)
	}
	if testHookCompactSnapshotWritten != nil {
		testHookCompactSnapshotWritten()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	held := time.Now()
	// Every line appended so far must be durable in the old log before
	// the swap: writers waiting on it are acknowledged from that fsync.
	if err := s.p.drain(); err != nil {
		return abort(err)
	}
	before, _ := s.p.sizes()
	tail := s.p.stopTee()
	if _, err := f.Write(tail); err != nil {
		return abort(fmt.Errorf("pathway: compact: write tail: %w", err))
	}
	if err := f.Sync(); err != nil {
		return abort(fmt.Errorf("pathway: compact: fsync: %w", err))
	}
	err = f.Close()
	f = nil
	if err != nil {
		return abort(fmt.Errorf("pathway: compact: close: %w", err))
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return abort(fmt.Errorf("pathway: compact: rename: %w", err))
	}
	if err := fsx.SyncDir(dirOf(s.path)); err != nil {
		return CompactResult{}, fmt.Errorf("pathway: compact: %w", err)
	}
	if err := s.p.swap(); err != nil {
		return CompactResult{}, err
	}
	after, _ := s.p.sizes()
	return CompactResult{BeforeBytes: before, AfterBytes: after, Traces: len(snap),
		DurationMs: msSince(start), StallMs: snapMs + msSince(held)}, nil
}

// sortSnapshot puts traces in creation order, which keeps a compacted log
// readable and deterministic.
func sortSnapshot(snap []*Trace) {
	sort.Slice(snap, func(i, j int) bool {
		if snap[i].CreatedAtNs != snap[j].CreatedAtNs {
			return snap[i].CreatedAtNs < snap[j].CreatedAtNs
		}
		return snap[i].UID < snap[j].UID
	})
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// writeSnapshot writes one add record per trace to a new temp file and
// returns it open (the tail is appended before the final fsync).
func writeSnapshot(tmp string, snap []*Trace) (*os.File, error) {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pathway: compact: create temp: %w", err)
	}
	return f, encodeSnapshot(f, snap)
}

// encodeSnapshot writes one add record per trace to w.
func encodeSnapshot(dst io.Writer, snap []*Trace) error {
	w := bufio.NewWriterSize(dst, 1<<20)
	for _, t := range snap {
		line, err := (&record{Op: opAdd, Trace: t}).encode()
		if err != nil {
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("pathway: compact: write temp: %w", err)
	}
	return nil
}

// removeStaleCompaction deletes a temp file a crashed compaction left.
func removeStaleCompaction(path string) error {
	err := os.Remove(path + compactSuffix)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pathway: remove stale compaction file: %w", err)
	}
	return nil
}
