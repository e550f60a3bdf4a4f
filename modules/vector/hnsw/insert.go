package hnsw

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// Add inserts v and returns its node id. Under cosine the stored copy is
// normalised. A vector Check refuses is refused before it takes a node id.
// Add is safe to call from several goroutines and alongside Search.
func (g *Graph) Add(v []float32) (uint32, error) {
	if len(v) != g.dim {
		return 0, fmt.Errorf("hnsw: vector has dimension %d, graph has %d", len(v), g.dim)
	}
	if err := Check(g.cfg.Metric, v); err != nil {
		return 0, fmt.Errorf("hnsw: %w", err)
	}
	id, level := g.alloc() // returns with grow read-locked
	defer g.grow.RUnlock()
	dst := g.vec(id)
	src := dst
	if g.cfg.Quantization == Int8 {
		src = make([]float32, g.dim)
	}
	copy(src, v)
	if g.cfg.Metric == Cosine && !Normalize(src) {
		// Unreachable after Check (same computation); should it happen,
		// the id is spent: leave it as an unreachable tombstone.
		atomic.StoreUint32(&g.deleted[id], dead)
		return 0, fmt.Errorf("hnsw: vector cannot be normalised (cosine distance)")
	}
	if g.cfg.Quantization == Int8 {
		quantize(dst, src)
		if g.full != nil {
			copy(g.fullVec(id), src)
		}
		if g.disk != nil {
			// A failed write is noted, not returned: the caller has made
			// the vector durable already, and the search falls back to
			// this node's codes.
			if err := g.disk.write(id, src); err != nil {
				g.noteDiskErr(err)
			}
		}
	}

	g.entryMu.Lock()
	if !g.hasEntry {
		g.entry, g.maxLevel, g.hasEntry = id, level, true
		g.entryMu.Unlock()
		atomic.CompareAndSwapUint32(&g.deleted[id], pending, live)
		return id, nil
	}
	ep, maxL := g.entry, g.maxLevel
	g.entryMu.Unlock()

	s := g.getScratch()
	defer g.pool.Put(s)

	cur := cand{g.dist(dst, g.vec(ep)), ep}
	for l := maxL; l > level; l-- {
		cur = g.greedy(dst, cur, l, s)
	}
	eps := []cand{cur}
	for l := min(level, maxL); l >= 0; l-- {
		found := g.searchLayer(dst, eps, g.cfg.EfConstruction, l, nil, s)
		g.connect(id, dst, found, l, s)
		eps = found
	}

	if level > maxL {
		g.entryMu.Lock()
		if level > g.maxLevel {
			g.entry, g.maxLevel = id, level
		}
		g.entryMu.Unlock()
	}
	atomic.CompareAndSwapUint32(&g.deleted[id], pending, live)
	return id, nil
}

// connect links id to the best of found (ascending) at level l and adds
// the reverse links, pruning a full neighbour list with the heuristic.
func (g *Graph) connect(id uint32, v []float32, found []cand, l int, s *scratch) {
	maxN := g.cfg.M
	if l == 0 {
		maxN = g.m0
	}
	sel := g.selectHeuristic(found, g.cfg.M, s.sel[:0])
	s.sel = sel

	// Concurrent inserts may already have linked themselves into id's
	// list at this level (they found id through a level above): merge
	// those links with ours instead of overwriting them, or they would be
	// lost and could leave their nodes unreachable.
	mu := &g.locks[id&(lockStripes-1)]
	mu.Lock()
	ls := g.list(id, l)
	own := sel
	if ls[0] > 0 {
		own = slices.Clone(sel)
		for _, o := range ls[1 : 1+ls[0]] {
			if !slices.ContainsFunc(own, func(c cand) bool { return c.id == o }) {
				own = append(own, cand{g.dist(v, g.vec(o)), o})
			}
		}
		if len(own) > maxN {
			slices.SortFunc(own, func(a, b cand) int { return cmpF(a.d, b.d) })
			own = g.selectHeuristic(own, maxN, nil)
		}
	}
	ls[0] = uint32(len(own))
	for i, c := range own {
		ls[1+i] = c.id
	}
	mu.Unlock()

	var buf []cand
	linked := false // does any neighbour link back to id?
	for _, c := range sel {
		nb := c.id
		nv := g.vec(nb)
		mu := &g.locks[nb&(lockStripes-1)]
		mu.Lock()
		nl := g.list(nb, l)
		cnt := int(nl[0])
		if slices.Contains(nl[1:1+cnt], id) {
			mu.Unlock()
			linked = true
			continue
		}
		if cnt < maxN {
			nl[1+cnt] = id
			nl[0]++
			mu.Unlock()
			linked = true
			continue
		}
		// Full: keep the heuristic's choice among the old list plus id.
		buf = append(buf[:0], cand{c.d, id})
		for _, o := range nl[1 : 1+cnt] {
			buf = append(buf, cand{g.dist(nv, g.vec(o)), o})
		}
		slices.SortFunc(buf, func(a, b cand) int { return cmpF(a.d, b.d) })
		kept := g.selectHeuristic(buf, maxN, nil)
		if !slices.ContainsFunc(kept, func(k cand) bool { return k.id == id }) && len(kept) < maxN {
			// The heuristic left room: keep the back link anyway, so
			// the new node does not lose its way in.
			kept = append(kept, cand{c.d, id})
		}
		nl[0] = uint32(len(kept))
		for i, k := range kept {
			nl[1+i] = k.id
			linked = linked || k.id == id
		}
		mu.Unlock()
	}
	if !linked && len(sel) > 0 {
		// Every neighbour pruned id away: a node nothing links to can
		// never be found. Replace the closest neighbour's farthest link.
		nb := sel[0].id
		nv := g.vec(nb)
		mu := &g.locks[nb&(lockStripes-1)]
		mu.Lock()
		nl := g.list(nb, l)
		far, farD := -1, float32(-1)
		for i, o := range nl[1 : 1+nl[0]] {
			if d := g.dist(nv, g.vec(o)); d > farD {
				far, farD = i, d
			}
		}
		if far >= 0 && farD > sel[0].d {
			nl[1+far] = id
		}
		mu.Unlock()
	}
}

// selectHeuristic keeps up to m candidates (ascending by distance to the
// base), dropping one that is closer to an already kept neighbour than to
// the base: neighbours then point in diverse directions, which keeps the
// graph navigable across clusters (the paper's Algorithm 4).
func (g *Graph) selectHeuristic(cands []cand, m int, out []cand) []cand {
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		cv := g.vec(c.id)
		good := true
		for _, r := range out {
			if g.dist(cv, g.vec(r.id)) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
