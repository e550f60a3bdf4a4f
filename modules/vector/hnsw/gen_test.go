package hnsw

import (
	"runtime"
	"sync"
	"testing"

	"lakehouse/modules/vector/internal/synth"
)

// clustered returns n vectors and q queries (BENCHMARKS.md recipe).
func clustered(seed uint64, n, q, dim int) (base, queries [][]float32) {
	return synth.Chunk(seed, 0, n, q, dim)
}

// groundTruth is the exact k nearest ids (by the metric) per query.
func groundTruth(m Metric, base, queries [][]float32, k int) [][]uint32 {
	dist := distanceFunc(m)
	out := make([][]uint32, len(queries))
	for qi, q := range queries {
		var h maxHeap
		for i, b := range base {
			d := dist(q, b)
			if len(h) < k {
				h.push(cand{d, uint32(i)})
			} else if d < h.top().d {
				h.pop()
				h.push(cand{d, uint32(i)})
			}
		}
		for _, c := range h.sorted() {
			out[qi] = append(out[qi], c.id)
		}
	}
	return out
}

func recallAt(got [][]Neighbor, truth [][]uint32) float64 {
	hit, total := 0, 0
	for i, t := range truth {
		set := map[uint32]bool{}
		for _, id := range t {
			set[id] = true
		}
		for _, n := range got[i] {
			if set[n.ID] {
				hit++
			}
		}
		total += len(t)
	}
	return float64(hit) / float64(total)
}

// addAllParallel adds base to g on every core, as an index's large batch
// does, and returns each node's position in base (node id → index). The
// caller reserves room first (g.Reserve), outside whatever it times.
func addAllParallel(tb testing.TB, g *Graph, base [][]float32) []uint32 {
	pos := make([]uint32, len(base))
	var wg sync.WaitGroup
	next := make(chan int, 1024)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id, err := g.Add(base[i])
				if err != nil {
					tb.Error(err)
				}
				pos[id] = uint32(i)
			}
		}()
	}
	for i := range base {
		next <- i
	}
	close(next)
	wg.Wait()
	return pos
}
