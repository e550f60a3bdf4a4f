package pathway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// CompactResult reports one compaction.
type CompactResult struct {
	BeforeBytes int64   `json:"before_bytes"`
	AfterBytes  int64   `json:"after_bytes"`
	Traces      int     `json:"traces"`
	DurationMs  float64 `json:"duration_ms"`
}

// compactSuffix names the temporary file a compaction writes; a leftover
// one (crash mid-compaction) is removed at open, the real log untouched.
const compactSuffix = ".compact.tmp"

// Compact rewrites the log as one add record per trace (retired flags,
// replay counts and links included), atomically: temp file, fsync,
// rename over the log, fsync the directory. The state is unchanged;
// writers wait while it runs.
func (s *Service) Compact(ctx context.Context) (CompactResult, error) {
	if err := ctx.Err(); err != nil {
		return CompactResult{}, err
	}
	return s.compactLocked()
}

func (s *Service) compactLocked() (CompactResult, error) {
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.p.drain(); err != nil {
		return CompactResult{}, err
	}
	before, _ := s.p.sizes()
	entries := make([]*entry, 0, len(s.st.traces))
	for _, e := range s.st.traces {
		entries = append(entries, e)
	}
	// Creation order keeps the compacted log readable and deterministic.
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i].t, entries[j].t
		if a.CreatedAtNs != b.CreatedAtNs {
			return a.CreatedAtNs < b.CreatedAtNs
		}
		return a.UID < b.UID
	})
	tmp := s.path + compactSuffix
	if err := writeCompacted(tmp, entries); err != nil {
		os.Remove(tmp)
		return CompactResult{}, err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return CompactResult{}, fmt.Errorf("pathway: compact: rename: %w", err)
	}
	if err := syncDir(dirOf(s.path)); err != nil {
		return CompactResult{}, err
	}
	if err := s.p.swap(); err != nil {
		return CompactResult{}, err
	}
	after, _ := s.p.sizes()
	return CompactResult{BeforeBytes: before, AfterBytes: after, Traces: len(entries),
		DurationMs: float64(time.Since(start).Microseconds()) / 1000}, nil
}

func writeCompacted(tmp string, entries []*entry) error {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pathway: compact: create temp: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, e := range entries {
		line, err := (&record{Op: opAdd, Trace: e.t}).encode()
		if err != nil {
			f.Close()
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
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
