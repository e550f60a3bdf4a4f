package hnsw

import (
	"math/rand/v2"
)

// mixture is the BENCHMARKS.md data recipe: a 50-component Gaussian
// mixture in a 24-d latent space, projected to dim by a fixed random
// matrix, plus N(0, 0.3²) noise per coordinate, L2-normalised. Real
// embeddings have low intrinsic dimension; iid noise in 768-d has no
// meaningful neighbours.
type mixture struct {
	dim     int
	proj    []float64 // latent × dim
	centres [][]float64
}

const latentDim, mixtureClusters = 24, 50

func newMixture(seed uint64, dim int) *mixture {
	rng := rand.New(rand.NewPCG(seed, 42))
	m := &mixture{dim: dim, proj: make([]float64, latentDim*dim), centres: make([][]float64, mixtureClusters)}
	for i := range m.proj {
		m.proj[i] = rng.NormFloat64()
	}
	for c := range m.centres {
		m.centres[c] = make([]float64, latentDim)
		for j := range m.centres[c] {
			m.centres[c][j] = rng.NormFloat64() * 2
		}
	}
	return m
}

func (m *mixture) gen(rng *rand.Rand) []float32 {
	c := m.centres[rng.IntN(mixtureClusters)]
	var z [latentDim]float64
	for j := range z {
		z[j] = c[j] + rng.NormFloat64()
	}
	acc := make([]float64, m.dim)
	for j := 0; j < latentDim; j++ {
		row := m.proj[j*m.dim : (j+1)*m.dim]
		for i, p := range row {
			acc[i] += z[j] * p
		}
	}
	v := make([]float32, m.dim)
	for i := range v {
		v[i] = float32(acc[i] + rng.NormFloat64()*0.3)
	}
	Normalize(v)
	return v
}

// clustered returns n base vectors and q queries; same seed, same data.
func clustered(seed uint64, n, q, dim int) (base, queries [][]float32) {
	return clusteredChunk(seed, 0, n, q, dim)
}

// clusteredChunk draws chunk c of a larger data set (same mixture, its own
// random stream), so chunks can be generated in parallel.
func clusteredChunk(seed, c uint64, n, q, dim int) (base, queries [][]float32) {
	m := newMixture(seed, dim)
	rng := rand.New(rand.NewPCG(seed+c*7919, 43+c))
	base = make([][]float32, n)
	for i := range base {
		base[i] = m.gen(rng)
	}
	queries = make([][]float32, q)
	for i := range queries {
		queries[i] = m.gen(rng)
	}
	return base, queries
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
