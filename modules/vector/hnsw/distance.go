package hnsw

import (
	"math"

	"github.com/viterin/vek"
	"github.com/viterin/vek/vek32"
)

// distanceFunc returns the kernel for m. Every kernel is a vek32 call, which
// dispatches to AVX2+FMA assembly when the CPU has both (Accelerated).
func distanceFunc(m Metric) func(a, b []float32) float32 {
	switch m {
	case Dot:
		return func(a, b []float32) float32 { return -vek32.Dot(a, b) }
	case L2:
		return vek32.Distance
	default:
		return func(a, b []float32) float32 { return 1 - vek32.Dot(a, b) }
	}
}

// Accelerated reports whether vek uses its AVX2/FMA kernels on this CPU.
func Accelerated() bool { return vek.Info().Acceleration }

// Distance computes m's distance between a and b (a and b normalised
// already under cosine).
func Distance(m Metric, a, b []float32) float32 { return distanceFunc(m)(a, b) }

// Normalize scales v to unit length in place; it returns false for a zero
// (or non-finite) vector, which cosine cannot use.
func Normalize(v []float32) bool {
	n := vek32.Norm(v)
	if n == 0 || math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return false
	}
	vek32.MulNumber_Inplace(v, 1/n)
	return true
}
