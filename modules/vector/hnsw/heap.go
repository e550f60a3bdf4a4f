package hnsw

// cand is a node with its distance to the query.
type cand struct {
	d  float32
	id uint32
}

// minHeap pops the closest candidate first.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		if r := l + 1; r < len(s) && s[r].d < s[l].d {
			l = r
		}
		if s[i].d <= s[l].d {
			break
		}
		s[i], s[l] = s[l], s[i]
		i = l
	}
	*h = s
	return top
}

// maxHeap keeps the best results with the worst on top.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d >= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		if r := l + 1; r < len(s) && s[r].d > s[l].d {
			l = r
		}
		if s[i].d >= s[l].d {
			break
		}
		s[i], s[l] = s[l], s[i]
		i = l
	}
	*h = s
	return top
}

func (h maxHeap) top() cand { return h[0] }

// sorted drains the heap into ascending order.
func (h *maxHeap) sorted() []cand {
	out := make([]cand, len(*h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = h.pop()
	}
	return out
}

// scratch is per-goroutine search state, pooled.
type scratch struct {
	visited []uint16
	gen     uint16
	cands   minHeap
	res     maxHeap
	nbuf    []uint32
	sel     []cand
	deq     []float32 // dequantized vector (int8 rescoring)
	sink    float32   // keeps the cache-line touches in searchLayer alive
	// budget bounds the distances one searchLayer computes (0: none);
	// over it, the search stops and sets exhausted.
	budget, spent int
	exhausted     bool
	// minShare: see Budget.MinShare.
	minShare float64
	// near and nearOK count the nodes searchLayer queued and those of
	// them accept admitted (see Walk).
	near, nearOK int
	// skip, when set, is a node the search neither returns nor expands
	// (leave-one-out measurement; see SearchWithout).
	skip    uint32
	hasSkip bool
}

// reset prepares the visited marks for a graph of capacity n.
func (s *scratch) reset(n int) {
	if len(s.visited) < n {
		s.visited = make([]uint16, n+n/4)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 { // wrapped: old marks could collide
		clear(s.visited)
		s.gen = 1
	}
	s.cands = s.cands[:0]
	s.res = s.res[:0]
}

func (g *Graph) getScratch() *scratch {
	s, _ := g.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	s.reset(g.capacity())
	return s
}

// starving reports a walk past a quarter of its budget whose queued nodes
// accept admitted at under minShare (see Budget.MinShare).
func (s *scratch) starving() bool {
	return s.minShare > 0 && s.spent >= s.budget/4 && float64(s.nearOK) < s.minShare*float64(s.near)
}
