package builtin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmMatchesNaive checks the blocked product against a float64 triple
// loop over edge shapes (rows not a multiple of 6, columns not of 16, k
// across several k-blocks), every flag and row strides wider than the rows, on
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
							s += float64(a[i*(k+lda)+kk]) * float64(w[kk*n+j])
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
				g.mul(c, n+pad, a, k+lda, m, &b, bias, flags)
				for i, v := range c {
					if d := math.Abs(float64(v) - want[i]); d > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(want[i])) {
						t.Fatalf("asm=%v %dx%dx%d flags %d: c[%d] = %g, want %g", asm, m, k, n, flags, i, v, want[i])
					}
				}
			}
		}
	}
}

// BenchmarkGemm measures the blocked product alone on the FFN's shape
// (a 96-row block × 512 × 1536), single-threaded, in GFLOP/s.
func BenchmarkGemm(b *testing.B) {
	for _, sh := range [][3]int{{96, 512, 1536}, {96, 1536, 512}, {64, 64, 64}} {
		m, k, n := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			a := make([]float32, m*k)
			w := make([]float32, k*n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range w {
				w[i] = float32(i%5) * 0.1
			}
			pb := packB(w, k, n)
			c := make([]float32, m*n)
			bias := make([]float32, n)
			g := &gemm{asm: hasAVX2FMA}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.mul(c, n, a, k, m, &pb, bias, kBias)
			}
			b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestExpSub checks the vectorised exponential against math.Exp over the
// range softmax feeds it (x - max ≤ 0), including underflow.
func TestExpSub(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2/FMA")
	}
	w := make([]float32, 0, 4096)
	for x := float32(-100); x <= 0; x += 0.0371 {
		w = append(w, x)
	}
	w = w[:len(w)/8*8]
	const mx = 1.5
	for i := range w {
		w[i] += mx
	}
	in := append([]float32(nil), w...)
	sum := expSub(&w[0], len(w), mx)
	var want float64
	for i, v := range in {
		x := v - mx // as the kernel computes it, in float32
		e := math.Exp(float64(x))
		want += e
		if d := math.Abs(float64(w[i]) - e); d > 3e-7*e+1e-38 {
			t.Fatalf("exp(%g) = %g, want %g", x, w[i], e)
		}
	}
	if math.Abs(float64(sum)-want) > 1e-5*want {
		t.Fatalf("sum %g, want %g", sum, want)
	}
}
