package pathway

import (
	"context"
	"time"

	"lakehouse/modules/embed"
	"lakehouse/modules/vector"
)

// EnableSemantic makes Search rank by embedding similarity using emb and
// vec, over the vector index named index (created, or rebuilt when the
// model changed). Traces already stored are embedded in the background.
func (s *Service) EnableSemantic(ctx context.Context, emb embed.Embedder, vec vector.Service, index string) error {
	m := newSemantic(emb, vec, index, s.log.With("index", index), s.indexText)
	st, _ := s.Stats(ctx)
	reindex, err := m.ensureIndex(ctx, st.Active)
	if err != nil {
		return err
	}
	m.start()
	if old := s.sem.Swap(m); old != nil {
		old.stop()
	}
	if reindex {
		uids := s.activeUIDs()
		s.log.Info("pathway: embedding stored traces for semantic search", "traces", len(uids), "index", index)
		for _, u := range uids {
			m.touch(u)
		}
	}
	return nil
}

// SemanticEnabled reports whether searches rank semantically.
func (s *Service) SemanticEnabled() bool { return s.sem.Load() != nil }

// SyncIndex waits until every queued trace is embedded and indexed (tests,
// and tools that need read-your-writes for semantic search).
func (s *Service) SyncIndex(ctx context.Context) error {
	m := s.sem.Load()
	if m == nil {
		return nil
	}
	for !m.idle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// IndexStats describes the semantic index for /v1/pathway/stats.
type IndexStats struct {
	Enabled  bool   `json:"enabled"`
	Index    string `json:"index,omitempty"`
	Model    string `json:"model,omitempty"`
	Indexed  int64  `json:"indexed"`
	Failures int64  `json:"failures"`
	Pending  bool   `json:"pending"`
}

// IndexStats returns the semantic index's counters.
func (s *Service) IndexStats() IndexStats {
	m := s.sem.Load()
	if m == nil {
		return IndexStats{}
	}
	return IndexStats{Enabled: true, Index: m.index, Model: m.emb.Model(), Indexed: m.indexed.Load(),
		Failures: m.failures.Load(), Pending: !m.idle()}
}

func (s *Service) indexText(uid string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.st.traces[uid]
	if !ok || e.t.Retired {
		return "", false
	}
	return traceText(e.t), true
}

func (s *Service) activeUIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.st.traces))
	for uid, e := range s.st.traces {
		if !e.t.Retired {
			out = append(out, uid)
		}
	}
	return out
}

// semanticSearch ranks by similarity, over-fetching so filters can drop
// some, then fills with lexical matches the index did not return (not
// embedded yet, or outside the fetched k); those carry score 0 and follow.
func (s *Service) semanticSearch(ctx context.Context, m *semantic, q Query, terms []string) ([]Hit, error) {
	st, _ := s.Stats(ctx)
	k := min(max(q.Limit*5, 50), max(st.Active, 1), 4*MaxSearchLimit)
	res, err := m.query(ctx, q.Text, k)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	var (
		es     []*entry
		scores []float64
		got    = map[string]bool{}
	)
	for _, r := range res {
		if len(es) == q.Limit {
			break
		}
		e, ok := s.st.traces[r.ID]
		if !ok || got[r.ID] || !matches(e.t, &q) {
			continue
		}
		got[r.ID] = true
		es = append(es, e)
		scores = append(scores, float64(1-r.Distance))
	}
	hits := s.collect(es, scores)
	s.mu.RUnlock()
	if len(hits) < q.Limit {
		fillQ := q
		fillQ.Limit = q.Limit - len(hits)
		fill, err := s.lexical(fillQ, terms, got)
		if err != nil {
			return nil, err
		}
		for _, h := range fill {
			h.Score = 0
			hits = append(hits, h)
		}
	}
	if err := s.visibleHits(hits); err != nil {
		return nil, err
	}
	return hits, nil
}
