package hnsw

import (
	"fmt"
	"math"
	"sync/atomic"
)

// Neighbor is one search hit.
type Neighbor struct {
	ID       uint32
	Distance float32
}

// greedy walks level l from cur to a local minimum of the distance to q.
func (g *Graph) greedy(q []float32, cur cand, l int, s *scratch) cand {
	for changed := true; changed; {
		changed = false
		s.nbuf = g.neighbours(cur.id, l, s.nbuf)
		for _, nb := range s.nbuf {
			if d := g.dist(q, g.vec(nb)); d < cur.d {
				cur, changed = cand{d, nb}, true
			}
		}
	}
	return cur
}

// searchLayer is the best-first beam search of level l from eps, keeping
// ef results. accept (nil = everything) decides which nodes may be
// results; every node still routes, so a filter is applied inside the
// traversal rather than after it. It returns the results ascending.
func (g *Graph) searchLayer(q []float32, eps []cand, ef, l int, accept func(uint32) bool, s *scratch) []cand {
	s.reset(g.capacity())
	if s.hasSkip {
		s.visited[s.skip] = s.gen
	}
	cands, res := s.cands[:0], s.res[:0]
	for _, e := range eps {
		if s.visited[e.id] == s.gen {
			continue
		}
		s.visited[e.id] = s.gen
		cands.push(e)
		s.near++
		if accept == nil || accept(e.id) {
			res.push(e)
			s.nearOK++
		}
	}
	for len(res) > ef {
		res.pop()
	}
	bound := float32(math.Inf(1))
	if len(res) > 0 {
		bound = res.top().d
	}
	for len(cands) > 0 {
		c := cands.pop()
		if c.d > bound && len(res) >= ef {
			break
		}
		s.nbuf = g.neighbours(c.id, l, s.nbuf)
		// Drop visited ids first and touch each remaining vector's first
		// cache line: the memory misses then overlap instead of each
		// waiting behind the previous distance computation (Go has no
		// prefetch intrinsic; a load is the next best thing).
		todo := s.nbuf[:0]
		var touch float32
		for _, nb := range s.nbuf {
			if s.visited[nb] != s.gen {
				s.visited[nb] = s.gen
				todo = append(todo, nb)
				touch += g.vecs[int(nb)*g.stride]
			}
		}
		s.sink += touch
		if s.budget > 0 {
			if s.spent += len(todo); s.spent > s.budget || s.starving() {
				s.exhausted = true
				break
			}
		}
		for _, nb := range todo {
			d := g.dist(q, g.vec(nb))
			if len(res) < ef || d < bound {
				cands.push(cand{d, nb})
				s.near++
				if accept == nil || accept(nb) {
					s.nearOK++
					res.push(cand{d, nb})
					if len(res) > ef {
						res.pop()
					}
					bound = res.top().d
				}
			}
		}
	}
	s.cands, s.res = cands, res
	return s.res.sorted()
}

// upperBeam is the beam kept on level 1, whose results all seed level 0.
// A single greedy descent (the paper's ef = 1 above level 0) can stop in
// a local minimum in the wrong cluster of clustered data; level 0's beam
// then stays there and the search returns nothing near the query
// (recall 0). A few level-1 candidates cost little (level 1 holds 1/M of
// the nodes) and start level 0 from several regions.
const upperBeam = 8

// Search returns up to k nearest live nodes to q, using a beam of ef
// (0 = the graph's EfSearch; raised to k). accept, when non-nil, filters
// results inside the traversal.
func (g *Graph) Search(q []float32, k, ef int, accept func(uint32) bool) ([]Neighbor, error) {
	res, _, err := g.SearchBudget(q, k, ef, accept, Budget{})
	return res, err
}

// Walk describes how a level-0 search went, for a caller deciding
// whether to trust a filtered result.
type Walk struct {
	// Exhausted: the budget ran out before the walk converged.
	Exhausted bool
	// Near counts the nodes the walk found within its result bound (the
	// ones it queued), NearAccepted those of them accept admitted: their
	// ratio is the filter's selectivity around the query, which differs
	// from its global selectivity when the filter follows the vectors.
	Near, NearAccepted int
}

// Budget bounds a filtered walk (see SearchBudget).
type Budget struct {
	// Distances is the most distances the walk computes on level 0 (0:
	// no bound).
	Distances int
	// MinShare, when positive, stops the walk once it has spent a quarter
	// of Distances while accept admitted under this share of the nodes it
	// queued: the filter rejects the region the query sits in, and
	// walking on only grows the cost of the scan that must follow.
	MinShare float64
}

// SearchBudget is Search within budget, also describing the walk. When
// the budget runs out Exhausted is set (with what it had found): a filter
// that keeps only a far region of the graph makes the walk visit most of
// it, and the caller is better off scanning.
func (g *Graph) SearchBudget(q []float32, k, ef int, accept func(uint32) bool, budget Budget) ([]Neighbor, Walk, error) {
	return g.search(q, k, ef, accept, budget, 0, false)
}

// SearchWithout is Search as if node skip were not in the graph: it is
// neither returned nor expanded (its links are not followed), so a query
// at skip's own vector measures what a new query there would get — the
// way an index measures the ef its recall target needs.
func (g *Graph) SearchWithout(q []float32, k, ef int, skip uint32, accept func(uint32) bool) ([]Neighbor, error) {
	res, _, err := g.search(q, k, ef, accept, Budget{}, skip, true)
	return res, err
}

func (g *Graph) search(q []float32, k, ef int, accept func(uint32) bool, budget Budget, skip uint32, hasSkip bool) ([]Neighbor, Walk, error) {
	q, err := g.prepareQuery(q, k)
	if q == nil || err != nil {
		return nil, Walk{}, err
	}
	if ef <= 0 {
		ef = g.cfg.EfSearch
	}
	ef = max(ef, k)
	if g.cfg.Quantization == Int8 {
		// Walk the codes for rescoreFactor·k candidates, re-rank them at
		// full precision below: int8 distances blur the last places.
		ef = max(ef, rescoreFactor*k)
	}
	fq, q := q, g.queryRow(q)
	g.grow.RLock()
	defer g.grow.RUnlock()
	ep, maxL, has := g.getEntry()
	if !has {
		return nil, Walk{}, nil
	}
	s := g.getScratch()
	defer func() {
		s.budget, s.spent, s.exhausted, s.hasSkip, s.minShare = 0, 0, false, false, 0
		s.near, s.nearOK = 0, 0
		g.pool.Put(s)
	}()
	cur := cand{g.dist(q, g.vec(ep)), ep}
	for l := maxL; l > 1; l-- {
		cur = g.greedy(q, cur, l, s)
	}
	s.skip, s.hasSkip = skip, hasSkip
	if hasSkip && cur.id == skip {
		// The descent ended on the skipped node: start from its first
		// neighbour instead (it would have led there).
		if nb := g.neighbours(skip, min(maxL, 1), s.nbuf); len(nb) > 0 {
			cur = cand{g.dist(q, g.vec(nb[0])), nb[0]}
		}
	}
	eps := []cand{cur}
	if maxL >= 1 {
		eps = g.searchLayer(q, eps, upperBeam, 1, nil, s)
	}
	if len(eps) == 0 && hasSkip {
		// Level 1 held only the skipped node: enter level 0 beside it.
		if nb := g.neighbours(skip, 0, s.nbuf); len(nb) > 0 {
			eps = []cand{{g.dist(q, g.vec(nb[0])), nb[0]}}
		}
	}
	live := func(id uint32) bool {
		return atomic.LoadUint32(&g.deleted[id]) == live && (accept == nil || accept(id))
	}
	s.budget, s.minShare = budget.Distances, budget.MinShare
	s.near, s.nearOK = 0, 0
	found := g.searchLayer(q, eps, ef, 0, live, s)
	if g.cfg.Quantization == Int8 {
		if g.disk != nil {
			// A read from the vector file costs a system call: re-rank the
			// best rescoreFactor·k by code distance only, not the whole
			// beam of a large ef.
			found = found[:min(len(found), rescoreFactor*k)]
		}
		found = g.rescore(fq, found, s)
	}
	out := make([]Neighbor, 0, min(k, len(found)))
	for _, c := range found {
		if len(out) == k || c.d == inf32 {
			break // ascending: the rest are farther or have no distance
		}
		out = append(out, Neighbor{c.id, c.d})
	}
	return out, Walk{Exhausted: s.exhausted, Near: s.near, NearAccepted: s.nearOK}, nil
}

// Exact scans every live node accepted by accept and returns the k
// nearest: the fallback for very selective filters, and ground truth.
func (g *Graph) Exact(q []float32, k int, accept func(uint32) bool) ([]Neighbor, error) {
	q, err := g.prepareQuery(q, k)
	if q == nil || err != nil {
		return nil, err
	}
	g.grow.RLock()
	defer g.grow.RUnlock()
	n := uint32(g.Len())
	var res maxHeap
	buf := make([]float32, g.dim)
	var chunk []float32 // a vector file's slots, read diskChunk at a time
	if g.disk != nil {
		chunk = make([]float32, diskChunk*g.dim)
	}
	var ids []uint32
	for start := uint32(0); start < n; start += diskChunk {
		end := min(n, start+diskChunk)
		ids = ids[:0]
		for id := start; id < end; id++ {
			if !g.isDeleted(id) && (accept == nil || accept(id)) {
				ids = append(ids, id)
			}
		}
		// One read for a well-filled chunk instead of a read per vector
		// (a scan would otherwise cost a system call per node); a chunk
		// that fails falls back to per-vector reads, which fall back to
		// the codes.
		bulk := chunk != nil && len(ids) >= diskChunk/8 &&
			g.disk.readRange(start, chunk[:int(end-start)*g.dim]) == nil
		for _, id := range ids {
			var d float32
			if bulk {
				o := int(id-start) * g.dim
				d = g.fdist(q, chunk[o:o+g.dim])
			} else {
				d = g.fullDist(q, id, buf)
			}
			if d == inf32 {
				continue // no usable distance (see distanceFunc)
			}
			if len(res) < k {
				res.push(cand{d, id})
			} else if d < res.top().d {
				res.pop()
				res.push(cand{d, id})
			}
		}
	}
	found := res.sorted()
	out := make([]Neighbor, len(found))
	for i, c := range found {
		out[i] = Neighbor{c.id, c.d}
	}
	return out, nil
}

// prepareQuery checks q's dimension and values (Check) and returns the
// query to search with:
// nil when k asks for nothing, a normalised copy under cosine (the
// caller's slice is never changed), else q itself.
func (g *Graph) prepareQuery(q []float32, k int) ([]float32, error) {
	if len(q) != g.dim {
		return nil, fmt.Errorf("hnsw: query has dimension %d, graph has %d", len(q), g.dim)
	}
	if k <= 0 {
		return nil, nil
	}
	if err := Check(g.cfg.Metric, q); err != nil {
		return nil, fmt.Errorf("hnsw: query: %w", err)
	}
	if g.cfg.Metric == Cosine {
		q = append([]float32(nil), q...)
		if !Normalize(q) { // unreachable after Check (same computation)
			return nil, fmt.Errorf("hnsw: query vector cannot be normalised (cosine distance)")
		}
	}
	return q, nil
}

// Distances returns q's distance to each node of ids (normalising q once
// under cosine), for results found by other means (keyword search).
func (g *Graph) Distances(q []float32, ids []uint32) ([]float32, error) {
	q, err := g.prepareQuery(q, 1)
	if err != nil {
		return nil, err
	}
	g.grow.RLock()
	defer g.grow.RUnlock()
	n := uint32(g.Len())
	out := make([]float32, len(ids))
	buf := make([]float32, g.dim)
	for i, id := range ids {
		out[i] = inf32
		if id < n {
			out[i] = g.fullDist(q, id, buf)
		}
	}
	return out, nil
}
