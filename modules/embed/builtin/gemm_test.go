package builtin

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmMatchesNaive checks the blocked product against a float64 triple
// loop over edge shapes (rows not a multiple of 6, columns not of 16, k
// across several k-blocks), every flag, a scaled A and a row stride, on
// both the assembly kernel (when the CPU has it) and the Go one.
func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	paths := []bool{false}
	if hasAVX2FMA {
		paths = append(paths, true)
	}
	shapes := [][3]int{{1, 1, 1}, {5, 7, 16}, {6, 16, 3}, {13, 300, 40}, {97, 513, 33}, {200, 64, 48}, {7, 1536, 512}}
	for _, asm := range paths {
		g := &gemm{asm: asm}
		for _, sh := range shapes {
			m, k, n := sh[0], sh[1], sh[2]
			for _, flags := range []int{0, kBias, kLoad | kBias, kBias | kRelu, kLoad} {
				const lda, pad = 3, 5 // a's rows are wider than k, c's than n
				a := rnd(m * (k + lda))
				w := rnd(k * n)
				bias := rnd(n)
				c := rnd(m * (n + pad))
				want := make([]float64, len(c))
				scale := float32(0.5)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						if flags&kLoad != 0 {
							s = float64(c[i*(n+pad)+j])
						}
						if flags&kBias != 0 {
							s += float64(bias[j])
						}
						for kk := 0; kk < k; kk++ {
							s += float64(a[i*(k+lda)+kk]*scale) * float64(w[kk*n+j])
						}
						if flags&kRelu != 0 {
							s = math.Max(s, 0)
						}
						want[i*(n+pad)+j] = s
					}
					for j := n; j < n+pad; j++ {
						want[i*(n+pad)+j] = float64(c[i*(n+pad)+j]) // untouched
					}
				}
				b := packB(w, k, n)
				g.mul(c, n+pad, a, k+lda, scale, m, &b, bias, flags)
				for i, v := range c {
					if d := math.Abs(float64(v) - want[i]); d > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(want[i])) {
						t.Fatalf("asm=%v %dx%dx%d flags %d: c[%d] = %g, want %g", asm, m, k, n, flags, i, v, want[i])
					}
				}
			}
		}
	}
}
