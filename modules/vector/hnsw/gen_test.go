package hnsw

import (
	"math/rand/v2"
	"slices"
)

// clustered returns n vectors and q queries of dimension dim drawn the way
// BENCHMARKS.md describes: a 50-component Gaussian mixture in a 24-d
// latent space, projected to dim by a fixed random matrix, plus
// N(0, 0.3²) noise per coordinate, L2-normalised. Same seed, same data.
func clustered(seed uint64, n, q, dim int) (base, queries [][]float32) {
	const latent, clusters = 24, 50
	rng := rand.New(rand.NewPCG(seed, 42))
	proj := make([]float32, latent*dim)
	for i := range proj {
		proj[i] = float32(rng.NormFloat64())
	}
	centres := make([][]float64, clusters)
	for c := range centres {
		centres[c] = make([]float64, latent)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64() * 2
		}
	}
	gen := func() []float32 {
		c := centres[rng.IntN(clusters)]
		z := make([]float64, latent)
		for j := range z {
			z[j] = c[j] + rng.NormFloat64()
		}
		v := make([]float32, dim)
		for i := range v {
			s := 0.0
			for j := 0; j < latent; j++ {
				s += z[j] * float64(proj[j*dim+i])
			}
			v[i] = float32(s + rng.NormFloat64()*0.3)
		}
		Normalize(v)
		return v
	}
	base = make([][]float32, n)
	for i := range base {
		base[i] = gen()
	}
	queries = make([][]float32, q)
	for i := range queries {
		queries[i] = gen()
	}
	return base, queries
}

// groundTruth is the exact k nearest ids (by the graph's metric) per query.
func groundTruth(m Metric, base, queries [][]float32, k int) [][]uint32 {
	out := make([][]uint32, len(queries))
	type dv struct {
		d  float32
		id uint32
	}
	for qi, q := range queries {
		all := make([]dv, len(base))
		for i, b := range base {
			all[i] = dv{Distance(m, q, b), uint32(i)}
		}
		slices.SortFunc(all, func(a, b dv) int { return cmpF(a.d, b.d) })
		for _, x := range all[:k] {
			out[qi] = append(out[qi], x.id)
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
