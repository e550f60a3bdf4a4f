package vector

import (
	"maps"
	"math/rand/v2"

	"lakehouse/modules/vector/hnsw"
)

// Filtered search strategy. Below exactBelow live items an exact scan is
// both exact and cheap. Above it the filter's selectivity is estimated
// from a sample: when few items can match, an exact scan of the matches
// beats a graph walk that must skip most nodes; otherwise the graph is
// searched with the filter applied inside the traversal and ef widened by
// 1/selectivity, and a short result falls back to the exact scan, so k
// results come back whenever k items match.
const (
	exactBelow    = 4096
	sampleSize    = 512
	minGraphMatch = 0.02
)

// Plans a search can take (reported to tests).
const (
	planGraph = "graph" // HNSW beam search (filter inside the traversal): approximate
	planExact = "exact" // scan of every live (matching) item: exact
	// planFallback: the graph walk ran out of budget or came back short,
	// and an exact scan answered.
	planFallback = "graph, then exact"
)

// search runs a k-NN query; q has the index's dimension already.
func (ix *index) search(q []float32, k, ef int, f filter) ([]Result, error) {
	res, _, err := ix.searchPlan(q, k, ef, f)
	return res, err
}

// searchPlan is search, also saying which plan answered.
func (ix *index) searchPlan(q []float32, k, ef int, f filter) ([]Result, string, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return []Result{}, planExact, nil
	}
	res, plan, err := ix.vectorHits(q, k, ef, f)
	if err != nil {
		return nil, plan, err
	}
	out := make([]Result, len(res))
	for i, r := range res {
		out[i] = ix.result(r.ID, r.Distance)
	}
	return out, plan, nil
}

// accept admits the live nodes f matches. Call with mu held.
func (ix *index) accept(f filter) func(uint32) bool {
	return func(n uint32) bool {
		return int(n) < len(ix.ids) && ix.ids[n] != "" && (f == nil || f.match(ix.meta[n]))
	}
}

// result is node n as a hit at distance d. Call with mu held.
func (ix *index) result(n uint32, d float32) Result {
	md := maps.Clone(ix.meta[n])
	if md == nil {
		md = map[string]any{}
	}
	return Result{ID: ix.ids[n], Distance: d, Score: score(ix.metric, d), Metadata: md}
}

// vectorHits plans and runs the k-NN part of a search: the k nearest
// live nodes f matches, nearest first. Call with mu held.
func (ix *index) vectorHits(q []float32, k, ef int, f filter) ([]hnsw.Neighbor, string, error) {
	if ef <= 0 {
		ef = ix.spec.EfSearch
		if ix.tuned.ef > 0 {
			ef = ix.tuned.ef
		}
	}
	accept := ix.accept(f)
	want := min(k, ix.live)
	var (
		res  []hnsw.Neighbor
		err  error
		plan = planGraph
	)
	switch {
	case f == nil:
		res, err = ix.g.Search(q, k, ef, accept)
		if err == nil && len(res) < want {
			res, plan, err = ix.exact(q, k, accept)
		}
	case ix.live < exactBelow:
		res, plan, err = ix.exact(q, k, accept)
	default:
		sel := ix.selectivity(f)
		if sel < minGraphMatch || sel*float64(ix.live) < float64(4*k) {
			res, plan, err = ix.exact(q, k, accept)
			break
		}
		wide := min(int(float64(max(ef, k))/sel)+1, ix.live)
		// The walk may compute as many distances as the exact scan would
		// (one per match): past that, walking on cannot be cheaper than
		// the scan it may still fall back to, so a walk that turns out
		// starved or lost costs at most twice the scan, not the half of
		// the graph a 10% filter's fallback used to pay for first.
		budget := min(ix.live/2, max(int(sel*float64(ix.live)), 8*wide))
		var w hnsw.Walk
		res, w, err = ix.g.SearchBudget(q, k, wide, accept, hnsw.Budget{Distances: budget, MinShare: sel / 2})
		if err == nil && (w.Exhausted || len(res) < k || starved(w, sel)) {
			// Fewer than k found: either fewer than k match (the scan
			// proves it) or the beam missed some; the scan finds them.
			// Out of budget: the matches lie far from the query (the
			// filter follows the vectors), and the walk would visit most
			// of the graph; scanning costs about what the walk did.
			// Starved: the same, found by the walk's own counts.
			res, _, err = ix.exact(q, k, accept)
			plan = planFallback
		}
	}
	return res, plan, err
}

// starved reports a filtered walk that ran through a region the filter
// mostly rejects: of the nodes it queued, a share below half the filter's
// global selectivity sel was accepted. Its beam was widened by 1/sel, but
// around this query the filter keeps far fewer, so the beam held too few
// matches to route by: the walk converges on whatever matches it met
// first at the region's edge and misses nearer ones (recall 0.5 and
// below, where every query of an independent filter gets 0.9 or more).
// The exact scan answers such a query.
func starved(w hnsw.Walk, sel float64) bool {
	return w.Near > 0 && float64(w.NearAccepted) < sel/2*float64(w.Near)
}

func (ix *index) exact(q []float32, k int, accept func(uint32) bool) ([]hnsw.Neighbor, string, error) {
	res, err := ix.g.Exact(q, k, accept)
	return res, planExact, err
}

// selectivity estimates the fraction of live items f matches from a
// sample of nodes drawn at random (a fixed seed, so a search plans the
// same way each time). Evenly spaced positions would alias with
// attributes that cycle with insertion order. Call with mu held.
func (ix *index) selectivity(f filter) float64 {
	n := len(ix.ids)
	rng := rand.New(rand.NewPCG(uint64(n), 0x5e1ec7))
	seen, hit := 0, 0
	for i := 0; i < sampleSize; i++ {
		j := rng.IntN(n)
		if ix.ids[j] == "" {
			continue
		}
		seen++
		if f.match(ix.meta[j]) {
			hit++
		}
	}
	if seen == 0 {
		return 0
	}
	return float64(hit) / float64(seen)
}

// score turns a distance into "higher is better": cosine similarity, the
// inner product, or 1/(1+d) for Euclidean.
func score(m hnsw.Metric, d float32) float32 {
	switch m {
	case hnsw.Cosine:
		return 1 - d
	case hnsw.Dot:
		return -d
	}
	return 1 / (1 + d)
}
