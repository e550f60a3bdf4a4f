package vector

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"lakehouse/modules/vector/bm25"
)

// Search modes.
const (
	ModeVector  = "vector"  // k-NN on the vector (the default)
	ModeKeyword = "keyword" // BM25 on the items' text
	ModeHybrid  = "hybrid"  // both, fused by reciprocal rank fusion
)

// Fusion and facet defaults and bounds.
const (
	// DefaultRRFK is reciprocal rank fusion's k (Cormack et al.): a
	// document at rank r of a list adds weight/(k + r).
	DefaultRRFK = 60
	maxRRFK     = 1_000_000
	// minCandidates is the depth each side of a hybrid search ranks by
	// default (at least k): fusion needs more than the final k from each
	// side, or a document ranked 11th by both could never surface.
	minCandidates  = 50
	maxFacets      = 16
	maxFacetValues = 50
)

// Weights scales each mode's contribution to hybrid fusion (default 1).
type Weights struct {
	Vector  *float64 `json:"vector,omitempty"`
	Keyword *float64 `json:"keyword,omitempty"`
}

// Explanation says why a result ranked where it did: each side's rank
// (1-based, absent when the side did not rank it among its candidates),
// the vector distance, the BM25 score and the query terms it matched.
type Explanation struct {
	Mode           string   `json:"mode"`
	VectorRank     int      `json:"vector_rank,omitempty"`
	VectorDistance *float32 `json:"vector_distance,omitempty"`
	KeywordRank    int      `json:"keyword_rank,omitempty"`
	KeywordScore   *float64 `json:"keyword_score,omitempty"`
	MatchedTerms   []string `json:"matched_terms,omitempty"`
	// CodesMatched is how many of the query's codes (EPA-608, NCCCO) the
	// item holds: hybrid ranks more first, then by the fused score.
	CodesMatched int `json:"codes_matched,omitempty"`
	// Fused is the hybrid score: the sum over the sides of weight/(rrf_k + rank).
	Fused *float64 `json:"fused,omitempty"`
}

// FacetCount is one value of a facet and how many matches hold it.
type FacetCount struct {
	Value any `json:"value"`
	Count int `json:"count"`
}

// SearchResponse is a search's answer: the results and, when asked, the
// facet counts over every item the filter (and, in keyword mode, the
// query's terms) matches.
type SearchResponse struct {
	Results []Result                `json:"results"`
	Facets  map[string][]FacetCount `json:"facets,omitempty"`
}

// MarshalJSON leaves distance out of a result that has none (a keyword
// search given no query vector).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if !r.noDistance {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		ID       string         `json:"id"`
		Score    float32        `json:"score"`
		Metadata map[string]any `json:"metadata"`
		Explain  *Explanation   `json:"explain,omitempty"`
	}{r.ID, r.Score, r.Metadata, r.Explain})
}

// plan is a validated search request.
type plan struct {
	mode      string
	k, ef     int
	depth     int // candidates per side (hybrid)
	rrfK      float64
	wVec, wKw float64
	terms     []string
	codes     [][]string // the query's code-like words, as terms (bm25.CodeTerms)
	q         []float32  // nil: no vector (keyword mode without one)
	f         filter
	explain   bool
	facets    []string
}

// parseMode validates the request's mode and fusion options.
func parseMode(req SearchRequest, maxK int) (plan, error) {
	p := plan{mode: req.Mode, k: req.K, ef: req.Ef, explain: req.Explain, rrfK: DefaultRRFK, wVec: 1, wKw: 1}
	switch req.Mode {
	case "", ModeVector:
		p.mode = ModeVector
	case ModeKeyword, ModeHybrid:
	default:
		return p, invalid("unknown mode %q (use %q, %q or %q)", req.Mode, ModeVector, ModeKeyword, ModeHybrid)
	}
	if req.RRFK < 0 || req.RRFK > maxRRFK {
		return p, invalid("rrf_k must be in [1, %d] (0 = %d), got %d", maxRRFK, DefaultRRFK, req.RRFK)
	}
	if req.RRFK > 0 {
		p.rrfK = float64(req.RRFK)
	}
	if w := req.Weights; w != nil {
		for _, x := range []struct {
			name string
			v    *float64
			dst  *float64
		}{{"vector", w.Vector, &p.wVec}, {"keyword", w.Keyword, &p.wKw}} {
			if x.v == nil {
				continue
			}
			if *x.v < 0 || math.IsNaN(*x.v) || math.IsInf(*x.v, 0) {
				return p, invalid("weights.%s must be a finite number ≥ 0, got %v", x.name, *x.v)
			}
			*x.dst = *x.v
		}
		if p.wVec == 0 && p.wKw == 0 {
			return p, invalid("weights: at least one of vector and keyword must be above 0")
		}
	}
	if req.Candidates < 0 || req.Candidates > maxK {
		return p, invalid("candidates must be in [0, %d] (vector.max_k; 0 = max(k, %d)), got %d", maxK, minCandidates, req.Candidates)
	}
	p.depth = req.Candidates
	if p.depth == 0 {
		p.depth = min(max(req.K, minCandidates), maxK)
	}
	p.depth = max(p.depth, req.K)
	if len(req.Facets) > maxFacets {
		return p, invalid("at most %d facets, got %d", maxFacets, len(req.Facets))
	}
	for _, f := range req.Facets {
		if f == "" {
			return p, invalid("facets: a facet name is empty")
		}
		if !slices.Contains(p.facets, f) {
			p.facets = append(p.facets, f)
		}
	}
	if p.mode != ModeVector {
		if req.Text == "" {
			return p, invalid("mode %q needs \"text\" (the keyword side searches it)", p.mode)
		}
		p.terms = bm25.QueryTerms(req.Text)
		p.codes = bm25.CodeTerms(req.Text)
	}
	return p, nil
}

// query answers a validated search, also saying which plan the vector
// side took ("" when there was none: keyword mode, an empty index). It
// holds mu shared for its length.
func (ix *index) query(p plan) (SearchResponse, string, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	resp := SearchResponse{Results: []Result{}}
	if len(p.facets) > 0 {
		resp.Facets = ix.facets(p)
	}
	if ix.live == 0 {
		return resp, "", nil
	}
	var (
		err     error
		vecPlan string
	)
	switch p.mode {
	case ModeVector:
		resp.Results, vecPlan, err = ix.vectorQuery(p)
	case ModeKeyword:
		resp.Results, err = ix.keywordQuery(p)
	default:
		resp.Results, vecPlan, err = ix.hybridQuery(p)
	}
	return resp, vecPlan, err
}

func (ix *index) vectorQuery(p plan) ([]Result, string, error) {
	hits, vecPlan, err := ix.vectorHits(p.q, p.k, p.ef, p.f)
	if err != nil {
		return nil, vecPlan, err
	}
	out := make([]Result, len(hits))
	for i, h := range hits {
		out[i] = ix.result(h.ID, h.Distance)
		if p.explain {
			d := h.Distance
			out[i].Explain = &Explanation{Mode: p.mode, VectorRank: i + 1, VectorDistance: &d}
		}
	}
	return out, vecPlan, nil
}

func (ix *index) keywordQuery(p plan) ([]Result, error) {
	hits := ix.kw.Search(p.terms, p.k, ix.accept(p.f))
	var dists []float32
	if p.q != nil {
		nodes := make([]uint32, len(hits))
		for i, h := range hits {
			nodes[i] = h.Node
		}
		var err error
		if dists, err = ix.g.Distances(p.q, nodes); err != nil {
			return nil, err
		}
	}
	out := make([]Result, len(hits))
	for i, h := range hits {
		if dists != nil {
			out[i] = ix.result(h.Node, dists[i])
		} else {
			out[i] = ix.result(h.Node, 0)
			out[i].noDistance = true
		}
		out[i].Score = float32(h.Score)
		if p.explain {
			sc := h.Score
			e := &Explanation{Mode: p.mode, KeywordRank: i + 1, KeywordScore: &sc, MatchedTerms: h.Matched}
			if dists != nil {
				d := dists[i]
				e.VectorDistance = &d
			}
			out[i].Explain = e
		}
	}
	return out, nil
}

// fused is one candidate of a hybrid search.
type fused struct {
	node     uint32
	score    float64
	vRank    int
	kRank    int
	kScore   float64
	matched  []string
	distance float32
	codes    int // query codes the candidate holds
}

// hybridQuery fuses the two sides by weighted reciprocal rank fusion.
// Each side proposes its depth best candidates (both filtered before
// ranking); then each side ranks the whole pool — every candidate gets
// its true vector distance and its BM25 score — and a candidate's fused
// score is the sum over the sides of weight/(rrf_k + rank in the pool)
// (a candidate matching no query term gets nothing from the keyword
// side). Ranking the pool rather than only each side's own list means a
// candidate just beyond one side's depth is not scored as if that side
// had never seen it, which plain RRF over truncated lists does.
func (ix *index) hybridQuery(p plan) ([]Result, string, error) {
	accept := ix.accept(p.f)
	vh, vecPlan, err := ix.vectorHits(p.q, p.depth, max(p.ef, p.depth), p.f)
	if err != nil {
		return nil, vecPlan, err
	}
	pool := make([]*fused, 0, 2*p.depth)
	byNode := make(map[uint32]*fused, 2*p.depth)
	vnodes := make([]uint32, len(vh))
	for i, h := range vh {
		c := &fused{node: h.ID, distance: h.Distance}
		pool, byNode[h.ID], vnodes[i] = append(pool, c), c, h.ID
	}
	kh, also := ix.kw.SearchAlso(p.terms, p.depth, accept, vnodes)
	for _, h := range also {
		c := byNode[h.Node]
		c.kScore, c.matched = h.Score, h.Matched
	}
	var missing []uint32
	for _, h := range kh {
		if c := byNode[h.Node]; c == nil {
			c = &fused{node: h.Node, kScore: h.Score, matched: h.Matched}
			pool, byNode[h.Node] = append(pool, c), c
			missing = append(missing, h.Node)
		}
	}
	if len(missing) > 0 {
		ds, err := ix.g.Distances(p.q, missing)
		if err != nil {
			return nil, vecPlan, err
		}
		for i, n := range missing {
			byNode[n].distance = ds[i]
		}
	}
	byID := func(a, b *fused) int { return cmp.Compare(ix.ids[a.node], ix.ids[b.node]) }
	slices.SortFunc(pool, func(a, b *fused) int {
		if c := cmp.Compare(a.distance, b.distance); c != 0 {
			return c
		}
		return byID(a, b)
	})
	for i, c := range pool {
		c.vRank = i + 1
		c.score = p.wVec / (p.rrfK + float64(i+1))
	}
	slices.SortFunc(pool, func(a, b *fused) int {
		if c := cmp.Compare(b.kScore, a.kScore); c != 0 {
			return c
		}
		return byID(a, b)
	})
	for i, c := range pool {
		if c.kScore > 0 {
			c.kRank = i + 1
			c.score += p.wKw / (p.rrfK + float64(i+1))
		}
	}
	if p.wKw > 0 { // a keyword weight of 0 leaves the vector order alone
		for _, c := range pool {
			c.codes = codesHeld(p.codes, c.matched)
		}
	}
	slices.SortFunc(pool, func(a, b *fused) int {
		if c := cmp.Compare(b.codes, a.codes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.distance, b.distance); c != 0 {
			return c
		}
		return byID(a, b)
	})
	pool = pool[:min(len(pool), p.k)]
	out := make([]Result, len(pool))
	for i, c := range pool {
		out[i] = ix.result(c.node, c.distance)
		out[i].Score = float32(c.score)
		if p.explain {
			d, sc, fs := c.distance, c.kScore, c.score
			e := &Explanation{Mode: p.mode, VectorRank: c.vRank, VectorDistance: &d, KeywordRank: c.kRank,
				MatchedTerms: c.matched, CodesMatched: c.codes, Fused: &fs}
			if c.kRank > 0 {
				e.KeywordScore = &sc
			}
			out[i].Explain = e
		}
	}
	return out, vecPlan, nil
}

// codesHeld counts the query codes (each a group of terms) of which a
// candidate matched at least one term.
func codesHeld(codes [][]string, matched []string) int {
	n := 0
	for _, group := range codes {
		if slices.ContainsFunc(group, func(t string) bool { return slices.Contains(matched, t) }) {
			n++
		}
	}
	return n
}

var inf32 = float32(math.Inf(1))

// facets counts, per requested key, the values held by the matches: every
// live item the filter admits (keyword mode: that also holds a query
// term). The most frequent maxFacetValues values are returned per key,
// ties by value. Call with mu held.
func (ix *index) facets(p plan) map[string][]FacetCount {
	counts := make([]map[any]int, len(p.facets))
	for i := range counts {
		counts[i] = map[any]int{}
	}
	count := func(n uint32) {
		md := ix.meta[n]
		for i, key := range p.facets {
			if v, ok := md[key]; ok {
				counts[i][norm(v)]++
			}
		}
	}
	accept := ix.accept(p.f)
	if p.mode == ModeKeyword {
		ix.kw.Matching(p.terms, accept, count)
	} else {
		for n := range ix.ids {
			if accept(uint32(n)) {
				count(uint32(n))
			}
		}
	}
	out := make(map[string][]FacetCount, len(p.facets))
	for i, key := range p.facets {
		vals := make([]FacetCount, 0, len(counts[i]))
		for v, c := range counts[i] {
			vals = append(vals, FacetCount{Value: v, Count: c})
		}
		slices.SortFunc(vals, func(a, b FacetCount) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return cmp.Compare(fmt.Sprint(a.Value), fmt.Sprint(b.Value))
		})
		out[key] = vals[:min(len(vals), maxFacetValues)]
	}
	return out
}
