package pathway

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Search limits.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 1000
)

// Search modes reported by SearchMode.
const (
	ModeRecent   = "recent"   // no text: newest first
	ModeLexical  = "lexical"  // BM25 over the trace text
	ModeSemantic = "semantic" // embed + vector, lexical fill
)

// Search implements Store.
func (s *Service) Search(ctx context.Context, q Query) ([]Hit, error) {
	hits, _, err := s.SearchMode(ctx, q)
	return hits, err
}

// SearchMode is Search that also says how the results were ranked.
func (s *Service) SearchMode(ctx context.Context, q Query) ([]Hit, string, error) {
	if err := normalizeQuery(&q); err != nil {
		return nil, "", err
	}
	terms := uniqueTerms(q.Text)
	if len(terms) == 0 {
		hits, err := s.recent(q)
		return hits, ModeRecent, err
	}
	if sem := s.sem.Load(); sem != nil {
		hits, err := s.semanticSearch(ctx, sem, q, terms)
		if err == nil {
			return hits, ModeSemantic, nil
		}
		s.log.Warn("pathway: semantic search failed; ranking lexically", "err", err)
	}
	hits, err := s.lexical(q, terms, nil)
	return hits, ModeLexical, err
}

func normalizeQuery(q *Query) error {
	if q.Limit < 0 {
		return fmt.Errorf("%w: limit must not be negative", ErrInvalid)
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	q.Limit = min(q.Limit, MaxSearchLimit)
	if q.SinceNs != 0 && q.UntilNs != 0 && q.SinceNs > q.UntilNs {
		return fmt.Errorf("%w: since_ns is after until_ns", ErrInvalid)
	}
	return nil
}

// matches applies the filters; retired traces never match.
func matches(t *Trace, q *Query) bool {
	if t.Retired {
		return false
	}
	if q.Kind != "" && t.Kind != q.Kind {
		return false
	}
	if q.SinceNs != 0 && t.CreatedAtNs < q.SinceNs {
		return false
	}
	if q.UntilNs != 0 && t.CreatedAtNs > q.UntilNs {
		return false
	}
	for _, tag := range q.Tags {
		if !slices.Contains(t.Tags, tag) {
			return false
		}
	}
	return true
}

func newerFirst(a, b *Trace) bool {
	if a.CreatedAtNs != b.CreatedAtNs {
		return a.CreatedAtNs > b.CreatedAtNs
	}
	return a.UID < b.UID
}

// recent lists matching traces newest first.
func (s *Service) recent(q Query) ([]Hit, error) {
	s.mu.RLock()
	var cands []*entry
	for _, e := range s.st.traces {
		if matches(e.t, &q) {
			cands = append(cands, e)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return newerFirst(cands[i].t, cands[j].t) })
	hits := s.collect(cands[:min(len(cands), q.Limit)], nil)
	s.mu.RUnlock()
	return hits, s.visibleHits(hits)
}

// collect clones entries into hits, best first, stopping before the
// content would pass the answer budget (the best hit always comes back);
// caller holds s.mu (read).
func (s *Service) collect(es []*entry, scores []float64) []Hit {
	hits := make([]Hit, 0, len(es))
	budget := s.answerBytes()
	for i, e := range es {
		budget -= int64(len(e.t.Content))
		if budget < 0 && i > 0 {
			break
		}
		h := Hit{Trace: e.t.Clone()}
		if scores != nil {
			h.Score = scores[i]
		}
		hits = append(hits, h)
	}
	return hits
}

// visibleHits waits until every returned trace's last change is durable.
func (s *Service) visibleHits(hits []Hit) error {
	var maxSeq uint64
	s.mu.RLock()
	for _, h := range hits {
		if e, ok := s.st.traces[h.UID]; ok {
			maxSeq = max(maxSeq, e.seq)
		}
	}
	s.mu.RUnlock()
	return s.visible(maxSeq)
}

// BM25 parameters (the usual defaults).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// lexical ranks matching traces by BM25 over their text; traces that
// share no term with the query are left out. skip excludes uids already
// returned (semantic fill).
func (s *Service) lexical(q Query, terms []string, skip map[string]bool) ([]Hit, error) {
	s.mu.RLock()
	// Query terms the store has never seen match nothing; drop them.
	var ids []uint32
	for _, t := range terms {
		if id, ok := s.st.dict.lookup(t); ok {
			ids = append(ids, id)
		}
	}
	var (
		cands []*entry
		total int
	)
	df := make([]int, len(ids))
	for _, e := range s.st.traces {
		if !matches(e.t, &q) {
			continue
		}
		cands = append(cands, e)
		total += e.nterm
		for i, id := range ids {
			if tf(e.terms, id) > 0 {
				df[i]++
			}
		}
	}
	n := float64(len(cands))
	avgdl := 1.0
	if len(cands) > 0 && total > 0 {
		avgdl = float64(total) / n
	}
	idf := make([]float64, len(ids))
	for i := range ids {
		idf[i] = math.Log(1 + (n-float64(df[i])+0.5)/(float64(df[i])+0.5))
	}
	top := newTopK(q.Limit)
	for _, e := range cands {
		if len(ids) == 0 {
			break
		}
		if skip[e.t.UID] {
			continue
		}
		score := 0.0
		norm := bm25K1 * (1 - bm25B + bm25B*float64(e.nterm)/avgdl)
		for i, id := range ids {
			if f := float64(tf(e.terms, id)); f > 0 {
				score += idf[i] * f * (bm25K1 + 1) / (f + norm)
			}
		}
		if score > 0 {
			top.offer(e, score)
		}
	}
	es, scores := top.sorted()
	hits := s.collect(es, scores)
	s.mu.RUnlock()
	return hits, s.visibleHits(hits)
}

// uniqueTerms tokenizes a query, dropping repeats.
func uniqueTerms(text string) []string {
	var out []string
	for _, t := range tokenize(text) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
