// Package synth generates the synthetic vectors BENCHMARKS.md prescribes
// for HNSW: a 50-component Gaussian mixture in a 24-d latent space,
// projected to the target dimension by a fixed random matrix, plus
// N(0, 0.3²) noise per coordinate, L2-normalised. Real embeddings have low
// intrinsic dimension; iid noise in 768-d has no meaningful neighbours.
package synth

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Latent is the mixture's intrinsic dimension; Clusters its components.
const Latent, Clusters = 24, 50

// Mixture is one fixed mixture and projection.
type Mixture struct {
	dim     int
	proj    []float64 // Latent × dim
	centres [][]float64
}

// NewMixture builds the mixture for seed and dim.
func NewMixture(seed uint64, dim int) *Mixture {
	rng := rand.New(rand.NewPCG(seed, 42))
	m := &Mixture{dim: dim, proj: make([]float64, Latent*dim), centres: make([][]float64, Clusters)}
	for i := range m.proj {
		m.proj[i] = rng.NormFloat64()
	}
	for c := range m.centres {
		m.centres[c] = make([]float64, Latent)
		for j := range m.centres[c] {
			m.centres[c][j] = rng.NormFloat64() * 2
		}
	}
	return m
}

// Gen draws one unit vector.
func (m *Mixture) Gen(rng *rand.Rand) []float32 {
	c := m.centres[rng.IntN(Clusters)]
	var z [Latent]float64
	for j := range z {
		z[j] = c[j] + rng.NormFloat64()
	}
	acc := make([]float64, m.dim)
	for j := 0; j < Latent; j++ {
		row := m.proj[j*m.dim : (j+1)*m.dim]
		for i, p := range row {
			acc[i] += z[j] * p
		}
	}
	norm := 0.0
	for i := range acc {
		acc[i] += rng.NormFloat64() * 0.3
		norm += acc[i] * acc[i]
	}
	norm = math.Sqrt(norm)
	v := make([]float32, m.dim)
	for i := range v {
		v[i] = float32(acc[i] / norm)
	}
	return v
}

// Chunk draws chunk c of a data set: n base vectors then q queries from
// the chunk's own random stream, so chunks can be drawn in parallel.
func Chunk(seed, c uint64, n, q, dim int) (base, queries [][]float32) {
	m := NewMixture(seed, dim)
	rng := rand.New(rand.NewPCG(seed+c*7919, 43+c))
	base = make([][]float32, n)
	for i := range base {
		base[i] = m.Gen(rng)
	}
	queries = make([][]float32, q)
	for i := range queries {
		queries[i] = m.Gen(rng)
	}
	return base, queries
}

// Clustered draws n base vectors and q queries on every core; the data
// depends only on seed, n, q and dim.
func Clustered(seed uint64, n, q, dim int) (base, queries [][]float32) {
	const chunk = 5000
	type part struct{ b, q [][]float32 }
	parts := make([]part, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for c := range parts {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			nq := 0
			if c == 0 {
				nq = q
			}
			parts[c].b, parts[c].q = Chunk(seed, uint64(c), min(chunk, n-c*chunk), nq, dim)
		}(c)
	}
	wg.Wait()
	base = make([][]float32, 0, n)
	for _, p := range parts {
		base = append(base, p.b...)
		queries = append(queries, p.q...)
	}
	return base, queries
}
