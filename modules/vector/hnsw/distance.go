package hnsw

import (
	"errors"
	"fmt"
	"math"

	"github.com/viterin/vek"
	"github.com/viterin/vek/vek32"
)

// distanceFunc returns the kernel for m. Every kernel is a vek32 call, which
// dispatches to AVX2+FMA assembly when the CPU has both (Accelerated). A
// result that is not finite (only possible with vectors Check refuses, e.g.
// from data written before it existed) becomes +Inf: it ranks last instead
// of breaking the heaps' ordering, and Search and Exact never return it.
func distanceFunc(m Metric) func(a, b []float32) float32 {
	switch m {
	case Dot:
		return func(a, b []float32) float32 { return finite(-vek32.Dot(a, b)) }
	case L2:
		return func(a, b []float32) float32 { return finite(vek32.Distance(a, b)) }
	default:
		return func(a, b []float32) float32 { return finite(1 - vek32.Dot(a, b)) }
	}
}

var inf32 = float32(math.Inf(1))

// finite maps NaN and ±Inf to +Inf (d-d is 0 exactly when d is finite).
func finite(d float32) float32 {
	if d-d != 0 {
		return inf32
	}
	return d
}

// Accelerated reports whether vek uses its AVX2/FMA kernels on this CPU.
func Accelerated() bool { return vek.Info().Acceleration }

// Distance computes m's distance between a and b (a and b normalised
// already under cosine).
func Distance(m Metric, a, b []float32) float32 { return distanceFunc(m)(a, b) }

// MaxSquaredNorm bounds ‖v‖² under dot and euclidean distance. For any
// two vectors within it, |a·b| ≤ MaxSquaredNorm and ‖a−b‖² ≤
// 4·MaxSquaredNorm, so every distance (and every partial sum a float32
// kernel forms on the way) stays finite, with a factor 2 to spare for
// rounding.
const MaxSquaredNorm = math.MaxFloat32 / 8

// Normalize scales v to unit length in place, computed exactly as Add and
// the search do (float32 norm, then multiplication by its inverse). It
// returns false, leaving v unusable, when that cannot give a finite
// non-zero vector: a zero vector, a norm that underflows or overflows
// float32, or non-finite values.
func Normalize(v []float32) bool {
	n := vek32.Norm(v)
	if !(n > 0) || math.IsInf(float64(n), 0) {
		return false
	}
	inv := 1 / n
	if math.IsInf(float64(inv), 0) {
		return false
	}
	vek32.MulNumber_Inplace(v, inv)
	m := vek32.Norm(v)
	return m > 0 && !math.IsInf(float64(m), 0) && !math.IsNaN(float64(m))
}

// Check reports why v cannot be stored or searched under m: a value that is
// not finite; under cosine a vector Normalize refuses; under dot and
// euclidean a squared norm above MaxSquaredNorm. Add refuses exactly these
// vectors, so a caller that checks first (before making a batch durable)
// knows the batch will apply.
func Check(m Metric, v []float32) error {
	var sq float64 // float64: the sum itself cannot overflow or underflow
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("vector[%d] is not a finite number", j)
		}
		sq += float64(x) * float64(x)
	}
	if m == Cosine {
		if sq == 0 {
			return errors.New("zero vector has no direction (cosine distance)")
		}
		if !Normalize(append([]float32(nil), v...)) {
			if sq < 1 {
				return fmt.Errorf("vector norm %.3g underflows float32 when squared, so it cannot be normalised (cosine distance); scale the vector up", math.Sqrt(sq))
			}
			return fmt.Errorf("vector norm %.3g overflows float32 when squared, so it cannot be normalised (cosine distance); scale the vector down", math.Sqrt(sq))
		}
		return nil
	}
	if sq > MaxSquaredNorm {
		return fmt.Errorf("vector norm %.3g is too large for %s distance: distances would overflow float32 (the squared norm must be at most %.3g)", math.Sqrt(sq), m, float64(MaxSquaredNorm))
	}
	return nil
}
