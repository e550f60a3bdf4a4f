package pathway

import (
	"context"
	"fmt"
)

// Purger removes traces by what they hold, for erasure, leaving none of
// their bytes in the log: the matching traces leave the state, then the
// log is compacted (locally: rewritten and swapped; with a bucket: a new
// snapshot and the old segments deleted), so no record of them — their
// history's records included — survives. The semantic index is a vector
// index, which erasure purges with the others. The pathway service
// implements it.
type Purger interface {
	Purge(ctx context.Context, match func(t *Trace) bool) (int, error)
}

var _ Purger = (*Service)(nil)

// Purge implements Purger: one forget record per matching trace (so a
// crash before the compaction still replays without them, and with a
// bucket the shipped sequence moves on and the compaction writes a new
// snapshot), then a compaction. It runs even when nothing matches now:
// an earlier run may have forgotten the traces and died before it.
func (s *Service) Purge(ctx context.Context, match func(t *Trace) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	if err := s.p.usable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	var uids []string
	for uid, e := range s.st.traces {
		if match(e.t) {
			uids = append(uids, uid)
		}
	}
	var last uint64
	for _, uid := range uids {
		r := &record{Op: opForget, UID: uid}
		line, err := r.encode()
		if err == nil {
			_, err = s.st.apply(r)
		}
		if err == nil {
			last, err = s.p.append(line)
		}
		if err != nil {
			s.mu.Unlock()
			return 0, fmt.Errorf("pathway: purge: %w", err)
		}
	}
	s.mu.Unlock()
	if last > 0 {
		if err := s.p.wait(last); err != nil {
			return 0, err
		}
	}
	if sem := s.sem.Load(); sem != nil {
		for _, uid := range uids {
			sem.remove(uid)
		}
	}
	if _, err := s.compact(); err != nil {
		return len(uids), fmt.Errorf("pathway: purge: %w", err)
	}
	return len(uids), nil
}
