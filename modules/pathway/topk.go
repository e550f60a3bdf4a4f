package pathway

import (
	"container/heap"
	"sort"
)

// topK keeps the k best-scoring entries in a min-heap, so ranking n
// candidates costs O(n log k) instead of sorting all n.
type topK struct {
	k int
	h scoredHeap
}

type scored struct {
	e     *entry
	score float64
}

// better orders by score, then newer first, then uid: a total order, so
// results are deterministic.
func better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return newerFirst(a.e.t, b.e.t)
}

type scoredHeap []scored

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(i, j int) bool { return better(h[j], h[i]) } // worst on top
func (h scoredHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoredHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newTopK(k int) *topK { return &topK{k: k} }

func (t *topK) offer(e *entry, score float64) {
	c := scored{e, score}
	if len(t.h) < t.k {
		heap.Push(&t.h, c)
		return
	}
	if better(c, t.h[0]) {
		t.h[0] = c
		heap.Fix(&t.h, 0)
	}
}

// sorted returns the kept entries best first.
func (t *topK) sorted() ([]*entry, []float64) {
	sort.Slice(t.h, func(i, j int) bool { return better(t.h[i], t.h[j]) })
	es := make([]*entry, len(t.h))
	scores := make([]float64, len(t.h))
	for i, c := range t.h {
		es[i], scores[i] = c.e, c.score
	}
	return es, scores
}
