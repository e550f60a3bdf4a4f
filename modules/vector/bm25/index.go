package bm25

import (
	"math"
	"slices"
	"sync"
)

// BM25 parameters (Robertson's usual choice): k1 saturates term
// frequency, b normalises by document length.
const (
	K1 = 1.2
	B  = 0.75
)

// MaxQueryTerms bounds the distinct terms of one query (a query is a
// recruiter's line, not a document); the rest are ignored.
const MaxQueryTerms = 64

type posting struct {
	node uint32
	tf   uint32
}

// Index is a BM25 inverted index over dense node ids. It is not safe for
// concurrent mutation: the caller serialises Add and Remove against
// Search (the vector index holds its lock).
type Index struct {
	post   map[string][]posting
	df     map[string]int // live documents per term
	docLen []uint32       // per node; 0: no (live) document
	docs   int            // live documents
	total  int64          // sum of live document lengths
	// Postings of removed documents stay until they outnumber the live
	// ones, then one sweep drops them all.
	livePost, deadPost int
	pool               sync.Pool // *scratch
}

// New returns an empty index.
func New() *Index {
	return &Index{post: map[string][]posting{}, df: map[string]int{}}
}

// Docs is the number of live documents.
func (x *Index) Docs() int { return x.docs }

// Has reports whether node has a live document.
func (x *Index) Has(node uint32) bool { return int(node) < len(x.docLen) && x.docLen[node] > 0 }

// Add indexes node's terms (from Tokenize). A node is added once: a new
// text for an item is a new node (or Remove first).
func (x *Index) Add(node uint32, terms []string) {
	if len(terms) == 0 {
		return
	}
	if x.Has(node) {
		x.Remove(node, nil)
	}
	for int(node) >= len(x.docLen) {
		x.docLen = append(x.docLen, 0)
	}
	tf := make(map[string]uint32, len(terms))
	for _, t := range terms {
		tf[t]++
	}
	for t, n := range tf {
		x.post[t] = append(x.post[t], posting{node, n})
		x.df[t]++
	}
	x.livePost += len(tf)
	x.docLen[node] = uint32(len(terms))
	x.docs++
	x.total += int64(len(terms))
}

// Remove forgets node's document, given its terms (nil: found by
// scanning the postings, which is slow; callers keep the text).
func (x *Index) Remove(node uint32, terms []string) {
	if !x.Has(node) {
		return
	}
	seen := map[string]bool{}
	if terms == nil {
		for t, ps := range x.post {
			if slices.ContainsFunc(ps, func(p posting) bool { return p.node == node }) {
				seen[t] = true
			}
		}
	}
	for _, t := range terms {
		seen[t] = true
	}
	for t := range seen {
		if x.df[t]--; x.df[t] <= 0 {
			delete(x.df, t)
		}
	}
	x.livePost -= len(seen)
	x.deadPost += len(seen)
	x.total -= int64(x.docLen[node])
	x.docLen[node] = 0
	x.docs--
	if x.deadPost > 1024 && x.deadPost > x.livePost {
		x.sweep()
	}
}

// sweep drops the postings of removed documents.
func (x *Index) sweep() {
	for t, ps := range x.post {
		kept := ps[:0]
		for _, p := range ps {
			if x.Has(p.node) {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(x.post, t)
		} else {
			x.post[t] = slices.Clip(kept)
		}
	}
	x.deadPost = 0
}

// MemoryBytes estimates the index's size.
func (x *Index) MemoryBytes() int64 {
	m := int64(len(x.docLen))*4 + int64(x.livePost+x.deadPost)*8
	for t := range x.post {
		m += int64(len(t)) + 64 // key, slice header, map overhead
	}
	return m
}

// Hit is one keyword result.
type Hit struct {
	Node  uint32
	Score float64
	// Matched are the query terms the document holds, in query order.
	Matched []string
}

// QueryTerms is the distinct terms of a query text, in order, at most
// MaxQueryTerms.
func QueryTerms(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range Tokenize(text) {
		if !seen[t] && len(out) < MaxQueryTerms {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

type scratch struct {
	score   []float64
	mask    []uint64
	touched []uint32
}

// Search scores every live document holding a query term (terms from
// QueryTerms) and returns the k best that accept (nil: all) admits,
// highest score first (ties: lower node first). Filtering happens before
// ranking: k admitted documents come back whenever k match.
func (x *Index) Search(terms []string, k int, accept func(uint32) bool) []Hit {
	hits, _ := x.SearchAlso(terms, k, accept, nil)
	return hits
}

// SearchAlso is Search that also returns the score and matched terms of
// each node of also (0 and nil for a node without a match), computed in
// the same pass: a hybrid search ranks the vector side's candidates on
// the keyword side too.
func (x *Index) SearchAlso(terms []string, k int, accept func(uint32) bool, also []uint32) ([]Hit, []Hit) {
	if k <= 0 || x.docs == 0 {
		return nil, make([]Hit, len(also))
	}
	s := x.accumulate(terms, accept)
	defer x.release(s)
	matched := func(m uint64) []string {
		var out []string
		for j, t := range terms[:min(len(terms), MaxQueryTerms)] {
			if m&(1<<uint(j)) != 0 {
				out = append(out, t)
			}
		}
		return out
	}
	extra := make([]Hit, len(also))
	for i, n := range also {
		extra[i].Node = n
		if int(n) < len(x.docLen) {
			extra[i].Score, extra[i].Matched = s.score[n], matched(s.mask[n])
		}
	}
	h := make(hitHeap, 0, k)
	for _, n := range s.touched {
		c := Hit{Node: n, Score: s.score[n]}
		if len(h) < k {
			h.push(c)
		} else if better(c, h[0]) {
			h[0] = c
			h.down(0)
		}
	}
	out := make([]Hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = h.pop()
	}
	for i := range out {
		out[i].Matched = matched(s.mask[out[i].Node])
	}
	return out, extra
}

// Matching calls fn for every live document accept admits that holds a
// query term (facets of a keyword search count these).
func (x *Index) Matching(terms []string, accept func(uint32) bool, fn func(node uint32)) {
	s := x.accumulate(terms, accept)
	defer x.release(s)
	for _, n := range s.touched {
		fn(n)
	}
}

// Score returns node's BM25 score for terms and the terms it matched
// (explaining a result the keyword side did not rank).
func (x *Index) Score(terms []string, node uint32) (float64, []string) {
	if !x.Has(node) {
		return 0, nil
	}
	var score float64
	var matched []string
	avg := float64(x.total) / float64(x.docs)
	for _, t := range terms {
		for _, p := range x.post[t] {
			if p.node == node {
				score += x.idf(t) * tfNorm(p.tf, x.docLen[node], avg)
				matched = append(matched, t)
				break
			}
		}
	}
	return score, matched
}

func (x *Index) idf(t string) float64 {
	df := float64(x.df[t])
	return math.Log(1 + (float64(x.docs)-df+0.5)/(df+0.5))
}

func tfNorm(tf, dl uint32, avg float64) float64 {
	f := float64(tf)
	return f * (K1 + 1) / (f + K1*(1-B+B*float64(dl)/avg))
}

func (x *Index) accumulate(terms []string, accept func(uint32) bool) *scratch {
	s, _ := x.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if len(s.score) < len(x.docLen) {
		s.score = make([]float64, len(x.docLen))
		s.mask = make([]uint64, len(x.docLen))
	}
	s.touched = s.touched[:0]
	if x.docs == 0 {
		return s
	}
	avg := float64(x.total) / float64(x.docs)
	for j, t := range terms {
		if j >= MaxQueryTerms {
			break
		}
		if x.df[t] == 0 {
			continue
		}
		idf := x.idf(t)
		for _, p := range x.post[t] {
			n := p.node
			if x.docLen[n] == 0 {
				continue
			}
			if s.mask[n] == 0 {
				if accept != nil && !accept(n) {
					continue
				}
				s.touched = append(s.touched, n)
			}
			s.score[n] += idf * tfNorm(p.tf, x.docLen[n], avg)
			s.mask[n] |= 1 << uint(j)
		}
	}
	return s
}

// release clears what accumulate touched and returns s to the pool.
func (x *Index) release(s *scratch) {
	for _, n := range s.touched {
		s.score[n], s.mask[n] = 0, 0
	}
	s.touched = s.touched[:0]
	x.pool.Put(s)
}

// better orders hits: higher score, then lower node.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Node < b.Node
}

// hitHeap is a min-heap by better: the root is the worst kept hit.
type hitHeap []Hit

func (h *hitHeap) push(c Hit) {
	*h = append(*h, c)
	i := len(*h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !better((*h)[p], (*h)[i]) {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
	}
}

func (h hitHeap) down(i int) {
	for {
		l, w := 2*i+1, i
		if l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r := l + 1; r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

func (h *hitHeap) pop() Hit {
	old := *h
	top := old[0]
	old[0] = old[len(old)-1]
	*h = old[:len(old)-1]
	h.down(0)
	return top
}
