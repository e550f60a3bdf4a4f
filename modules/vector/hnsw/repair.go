package hnsw

import "sync/atomic"

// maxRepairRounds bounds Repair's verify-and-fix loop. One round fixes
// every orphan it finds; a further round only runs when a replaced link
// was, after all, some node's only way in (a cycle among the nodes that
// linked to it), which the next walk finds and fixes.
const maxRepairRounds = 8

// Repair re-links live nodes that a level-0 walk from the entry point
// cannot reach (so no search could ever return them) and returns how
// many it re-linked. Concurrent inserts can leave such orphans: a node
// whose last in-link is pruned away by another insert's heuristic while
// its own insertion is still running. Each orphan is found its nearest
// reachable nodes (searched the way Add does) and linked from the closest
// one with room; when all of them are full, from the closest one that has
// a link to a node with another reachable in-link, which that link then
// gives up. Call without concurrent Adds (searches may run).
func (g *Graph) Repair() int {
	g.grow.RLock()
	defer g.grow.RUnlock()
	fixed := 0
	for round := 0; round < maxRepairRounds; round++ {
		n, k := g.repairRound()
		fixed += n
		if k == 0 {
			break
		}
	}
	return fixed
}

// repairRound walks the graph, re-links the orphans it finds and returns
// how many it re-linked and how many it found.
func (g *Graph) repairRound() (fixed, found int) {
	ep, maxL, ok := g.getEntry()
	if !ok {
		return 0, 0
	}
	n := g.Len()
	reach := make([]bool, n)
	indeg := make([]int32, n) // in-links from reachable nodes
	var buf []uint32
	walk := func(from uint32) {
		reach[from] = true
		stack := []uint32{from}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			buf = g.neighbours(x, 0, buf)
			for _, nb := range buf {
				indeg[nb]++
				if !reach[nb] {
					reach[nb] = true
					stack = append(stack, nb)
				}
			}
		}
	}
	walk(ep)
	var orphans []uint32
	for i := 0; i < n; i++ {
		if !reach[i] && atomic.LoadUint32(&g.deleted[i]) == live {
			orphans = append(orphans, uint32(i))
		}
	}
	if len(orphans) == 0 {
		return 0, 0
	}
	s := g.getScratch()
	defer g.pool.Put(s)
	for _, o := range orphans {
		if reach[o] {
			continue // reached through an orphan re-linked before it
		}
		v := g.vec(o)
		cur := cand{g.dist(v, g.vec(ep)), ep}
		for l := maxL; l > 0; l-- {
			cur = g.greedy(v, cur, l, s)
		}
		near := g.searchLayer(v, []cand{cur}, g.cfg.EfConstruction, 0,
			func(id uint32) bool { return id != o && reach[id] }, s)
		if g.linkFrom(o, near, indeg) {
			fixed++
			walk(o)
		}
	}
	return fixed, len(orphans)
}

// linkFrom adds a level-0 link to o from the nearest node of near
// (ascending) that has room, else from the nearest one holding a link it
// can give up (to a node with another reachable in-link).
func (g *Graph) linkFrom(o uint32, near []cand, indeg []int32) bool {
	for _, c := range near {
		mu := &g.locks[c.id&(lockStripes-1)]
		mu.Lock()
		ls := g.list(c.id, 0)
		if int(ls[0]) < g.m0 {
			ls[1+ls[0]] = o
			ls[0]++
			mu.Unlock()
			indeg[o]++
			return true
		}
		mu.Unlock()
	}
	for _, c := range near {
		mu := &g.locks[c.id&(lockStripes-1)]
		mu.Lock()
		ls := g.list(c.id, 0)
		cv := g.vec(c.id)
		far, farD := -1, float32(-1)
		for i, t := range ls[1 : 1+ls[0]] {
			if indeg[t] < 2 {
				continue
			}
			if d := g.dist(cv, g.vec(t)); d > farD {
				far, farD = i, d
			}
		}
		if far >= 0 {
			indeg[ls[1+far]]--
			ls[1+far] = o
			mu.Unlock()
			indeg[o]++
			return true
		}
		mu.Unlock()
	}
	return false
}

// Unreachable counts live nodes a level-0 walk from the entry point
// cannot reach (tests and diagnostics; Repair leaves none).
func (g *Graph) Unreachable() int {
	g.grow.RLock()
	defer g.grow.RUnlock()
	ep, _, ok := g.getEntry()
	if !ok {
		return 0
	}
	seen := make([]bool, g.Len())
	stack := []uint32{ep}
	seen[ep] = true
	var buf []uint32
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		buf = g.neighbours(x, 0, buf)
		for _, nb := range buf {
			if !seen[nb] {
				seen[nb] = true
				stack = append(stack, nb)
			}
		}
	}
	miss := 0
	for i, s := range seen {
		if !s && atomic.LoadUint32(&g.deleted[i]) == live {
			miss++
		}
	}
	return miss
}
