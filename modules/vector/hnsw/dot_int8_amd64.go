//go:build !purego

package hnsw

import "github.com/viterin/vek"

// useAVX2: vek's acceleration needs AVX2 (and FMA), which the int8
// kernel's assembly needs too.
var useAVX2 = vek.Info().Acceleration

// dotInt8AVX2 is Σ a[i]·b[i] over n int8 codes, n a positive multiple of 32.
//
//go:noescape
func dotInt8AVX2(a, b *int8, n int) int32

// dotInt8Fast runs the assembly kernel over the longest multiple of 32
// codes and returns it with the count it covered.
func dotInt8Fast(x, y []int8) (int32, int) {
	n := len(x) &^ 31
	if !useAVX2 || n == 0 {
		return 0, 0
	}
	return dotInt8AVX2(&x[0], &y[0], n), n
}
