package hnsw

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Quantization is how a graph stores its vectors.
type Quantization uint8

// The supported storages.
const (
	// Float32 keeps every vector as float32 (dim×4 bytes).
	Float32 Quantization = iota
	// Int8 keeps every vector as int8 codes with one float32 scale per
	// vector (symmetric: x ≈ scale·code) and its squared norm, ≈ 0.26× the
	// float32 memory at 384 dimensions. Under cosine the vector is
	// normalised before it is quantized.
	Int8
)

// String names the quantization the way the HTTP API spells it.
func (q Quantization) String() string {
	if q == Int8 {
		return "int8"
	}
	return "float32"
}

// ParseQuantization accepts float32 ("" and none too) and int8.
func ParseQuantization(s string) (Quantization, error) {
	switch s {
	case "", "none", "float32":
		return Float32, nil
	case "int8":
		return Int8, nil
	}
	return 0, fmt.Errorf("unknown quantization %q (use float32 or int8)", s)
}

// An int8 row packs one vector into float32 words, so that every slab,
// kernel signature and call site stays the same for both storages:
//
//	words [0, codeWords): the dim int8 codes, 4 per word, zero padded
//	word codeWords:       scale (float32)
//	word codeWords+1:     ‖scale·codes‖² (float32), for euclidean
//
// The code words are never read as floats (only reinterpreted as bytes),
// so NaN bit patterns among them are harmless.
func rowWords(dim int, q Quantization) int {
	if q == Int8 {
		return (dim+3)/4 + 2
	}
	return dim
}

// codes reinterprets row's code words as dim int8 values.
func codes(row []float32, dim int) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(&row[0])), dim)
}

// quantize writes v (normalised already under cosine) into row.
func quantize(row, v []float32) {
	cw := len(row) - 2
	var maxAbs float32
	for _, x := range v {
		maxAbs = max(maxAbs, float32(math.Abs(float64(x))))
	}
	for i := range row[:cw] {
		row[i] = 0 // padding codes must be zero for the kernel
	}
	c := unsafe.Slice((*int8)(unsafe.Pointer(&row[0])), cw*4)
	scale := maxAbs / 127
	var sq int64
	if scale > 0 {
		inv := 1 / scale
		for i, x := range v {
			k := int8(max(-127, min(127, math.Round(float64(x*inv)))))
			c[i] = k
			sq += int64(k) * int64(k)
		}
	}
	row[cw] = scale
	row[cw+1] = float32(float64(scale) * float64(scale) * float64(sq))
}

// dequantize returns the float32 vector a row approximates.
func dequantize(row []float32, dim int) []float32 {
	cw := len(row) - 2
	scale := row[cw]
	out := make([]float32, dim)
	for i, k := range codes(row, dim) {
		out[i] = float32(k) * scale
	}
	return out
}

// dotInt8 is Σ a[i]·b[i] over two rows' codes (padding included: it is
// zero), accumulated in int32 (|sum| ≤ dim·127² fits for dim < 133 000):
// AVX2 assembly over the multiple of 32 codes when the CPU has it, then
// (or else) a Go loop taking 16 codes per step, so the compiler keeps four
// independent accumulators and drops the bounds checks.
func dotInt8(a, b []float32, cw int) int32 {
	n := cw * 4
	x := unsafe.Slice((*int8)(unsafe.Pointer(&a[0])), n)
	y := unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), n)
	s0, i := dotInt8Fast(x, y)
	var s1, s2, s3 int32
	for ; i+16 <= n; i += 16 {
		xs, ys := x[i:i+16:i+16], y[i:i+16:i+16]
		s0 += int32(xs[0])*int32(ys[0]) + int32(xs[4])*int32(ys[4]) + int32(xs[8])*int32(ys[8]) + int32(xs[12])*int32(ys[12])
		s1 += int32(xs[1])*int32(ys[1]) + int32(xs[5])*int32(ys[5]) + int32(xs[9])*int32(ys[9]) + int32(xs[13])*int32(ys[13])
		s2 += int32(xs[2])*int32(ys[2]) + int32(xs[6])*int32(ys[6]) + int32(xs[10])*int32(ys[10]) + int32(xs[14])*int32(ys[14])
		s3 += int32(xs[3])*int32(ys[3]) + int32(xs[7])*int32(ys[7]) + int32(xs[11])*int32(ys[11]) + int32(xs[15])*int32(ys[15])
	}
	for ; i < n; i++ {
		s0 += int32(x[i]) * int32(y[i])
	}
	return s0 + s1 + s2 + s3
}

// int8DistanceFunc returns m's kernel over int8 rows of dim values.
func int8DistanceFunc(m Metric, dim int) func(a, b []float32) float32 {
	cw := (dim + 3) / 4
	switch m {
	case Dot:
		return func(a, b []float32) float32 {
			return finite(-a[cw] * b[cw] * float32(dotInt8(a, b, cw)))
		}
	case L2:
		return func(a, b []float32) float32 {
			d2 := a[cw+1] + b[cw+1] - 2*a[cw]*b[cw]*float32(dotInt8(a, b, cw))
			return finite(float32(math.Sqrt(float64(max(d2, 0)))))
		}
	default:
		return func(a, b []float32) float32 {
			return finite(1 - a[cw]*b[cw]*float32(dotInt8(a, b, cw)))
		}
	}
}

// rescoreFactor: an int8 search collects this many candidates per result
// asked for, then re-ranks them at full precision.
const rescoreFactor = 4

// queryRow is q as the graph compares it: q itself, or its int8 row.
func (g *Graph) queryRow(q []float32) []float32 {
	if g.cfg.Quantization != Int8 {
		return q
	}
	row := make([]float32, g.stride)
	quantize(row, q)
	return row
}

// fullDist is the distance from the float32 query q (normalised under
// cosine) to node id at the best precision the graph keeps: its float32
// vector or copy (in memory or read from the vector file), else its
// dequantized codes (the query then carries no quantization error). buf
// holds dim floats of scratch. Call with grow read-locked.
func (g *Graph) fullDist(q []float32, id uint32, buf []float32) float32 {
	switch {
	case g.cfg.Quantization == Float32:
		return g.dist(q, g.vec(id))
	case g.full != nil:
		return g.fdist(q, g.fullVec(id))
	case g.disk != nil && g.fullFromDisk(id, buf):
		return g.fdist(q, buf)
	}
	row := g.vec(id)
	scale := row[len(row)-2]
	for i, k := range codes(row, g.dim) {
		buf[i] = float32(k) * scale
	}
	return g.fdist(q, buf)
}

// rescore re-ranks candidates found on the codes by fullDist (ascending).
func (g *Graph) rescore(q []float32, found []cand, s *scratch) []cand {
	if cap(s.deq) < g.dim {
		s.deq = make([]float32, g.dim)
	}
	for i := range found {
		found[i].d = g.fullDist(q, found[i].id, s.deq[:g.dim])
	}
	slices.SortFunc(found, func(a, b cand) int { return cmpF(a.d, b.d) })
	return found
}

// Holds reports whether node id stores v already, as Add would store it
// (normalised under cosine; as the same codes under int8 without a float32
// copy), in which case an upsert of v only changes metadata.
func (g *Graph) Holds(id uint32, v []float32) bool {
	if len(v) != g.dim {
		return false
	}
	v = slices.Clone(v)
	if g.cfg.Metric == Cosine && !Normalize(v) {
		return false
	}
	g.grow.RLock()
	defer g.grow.RUnlock()
	if int(id) >= g.Len() {
		return false
	}
	switch {
	case g.full != nil:
		return slices.Equal(g.fullVec(id), v)
	case g.disk != nil:
		buf := make([]float32, g.dim)
		return g.fullFromDisk(id, buf) && slices.Equal(buf, v)
	case g.cfg.Quantization == Int8:
		row := make([]float32, g.stride)
		quantize(row, v)
		// Compare bits: the code words are not numbers.
		return slices.Equal(unsafe.Slice((*uint32)(unsafe.Pointer(&row[0])), len(row)),
			unsafe.Slice((*uint32)(unsafe.Pointer(&g.vec(id)[0])), len(row)))
	}
	return slices.Equal(g.vec(id), v)
}
