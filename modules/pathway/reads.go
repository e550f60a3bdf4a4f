package pathway

import (
	"context"
	"fmt"
)

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

// History implements Store. The walk also stops once the chain's content
// would pass the answer budget (the newest trace always comes back); the
// last trace then still names its predecessor, which the route reports
// as truncated.
func (s *Service) History(ctx context.Context, uid string) ([]*Trace, error) {
	s.mu.RLock()
	var (
		chain  []*Trace
		maxSeq uint64
		seen   = map[string]bool{}
		cur    = uid
		budget = s.answerBytes()
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
		if budget -= int64(len(e.t.Content)); budget < 0 && len(chain) > 0 {
			break
		}
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
