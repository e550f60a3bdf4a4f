package builtin

import "unsafe"

// The matrix products run on one micro-kernel that keeps a 6×16 block of
// C in 12 AVX2 registers (mr×nr), the widest block that leaves registers
// for one B row and the A broadcasts: each k step is 2 loads of B, 6
// broadcasts of A and 12 FMAs, so the FMA pipes, not memory, set the pace.
// Weights are packed once at load (packB) so that B streams sequentially;
// A is packed per block (packA) so its 6 rows interleave.
const (
	mr = 6
	nr = 16
	// kcBlock bounds the k extent of one pass over C: a 256×16 panel of B
	// is 16 KB, half the L1 data cache, so it stays there while the
	// kernel sweeps every 6-row sliver of the packed A block.
	kcBlock = 256
	// mcBlock is how many rows of A one sweep of B's panels meets: each
	// 16 KB panel brought from L3 serves 32 slivers, and the 192×256 block
	// of A (192 KB) stays in the 512 KB L2. 96 and 288 measured slower.
	mcBlock = 192
)

// Kernel flags.
const (
	kLoad = 1 // start from C (else from zero)
	kRelu = 2 // max(·, 0) on the result
	kBias = 4 // add the 16 bias values to every row first
)

// packedB is a [k, n] matrix (n padded to a multiple of 16) laid out for
// the kernel: k-blocks of kcBlock rows one after the other; inside a
// block, panels of 16 columns, each kc rows of 16 contiguous floats. One
// block's sweep over all panels is one sequential stream.
type packedB struct {
	k, n int // logical shape
	data []float32
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// packB packs the row-major [k, n] matrix w into new memory.
func packB(w []float32, k, n int) packedB {
	np := roundUp(n, nr)
	p := packedB{k: k, n: n, data: make([]float32, k*np)}
	packBInto(p.data, k, n, func(kk, j int) float32 { return w[kk*n+j] })
	return p
}

// packBInPlace packs w (n a multiple of 16, so the layout has the same
// size) into its own memory, copying it first into *tmp, which grows to
// the largest matrix and is reused: loading the model then holds one
// copy of the weights, not two.
func packBInPlace(w []float32, k, n int, tmp *[]float32) packedB {
	if n%nr != 0 {
		return packB(w, k, n)
	}
	*tmp = grow(*tmp, len(w))
	src := *tmp
	copy(src, w)
	packBInto(w, k, n, func(kk, j int) float32 { return src[kk*n+j] })
	return packedB{k: k, n: n, data: w}
}

// packBInto fills dst ([k, roundUp(n,16)] floats) from at(kk, j), zero
// past column n, in packedB's layout.
func packBInto(dst []float32, k, n int, at func(kk, j int) float32) {
	np := roundUp(n, nr)
	for k0 := 0; k0 < k; k0 += kcBlock {
		kc := min(kcBlock, k-k0)
		blk := dst[k0*np : (k0+kc)*np]
		for p := 0; p < np/nr; p++ {
			pan := blk[p*kc*nr : (p+1)*kc*nr]
			for kk := 0; kk < kc; kk++ {
				for j := 0; j < nr; j++ {
					c := p*nr + j
					v := float32(0)
					if c < n {
						v = at(k0+kk, c)
					}
					pan[kk*nr+j] = v
				}
			}
		}
	}
}

// panel returns the packed panel p of the k-block starting at k0.
func (b *packedB) panel(k0, kc, p int) []float32 {
	np := roundUp(b.n, nr)
	off := k0*np + p*kc*nr
	return b.data[off : off+kc*nr]
}

// zeroBias stands in for a missing bias (the kernel always gets 16).
var zeroBias [nr]float32

// gemm holds one worker's edge buffers; it is not safe for concurrent
// use. asm selects the assembly kernel.
type gemm struct {
	asm  bool
	apad [mr * kcBlock]float32
	tile [mr * nr]float32
}

// mul computes rows [0, m) of C (row stride ldc) as a·B, where a is
// [m, b.k] with row stride lda; flags say whether C's old value and the
// bias are added first and whether ReLU follows. bias, when given, has at
// least b.n values.
//
// Loop order: for each k-block, each 16-column panel of B (in L1) meets
// every 6-row sliver of the mcBlock rows of A (in L2), which the kernel
// reads in place; only a last sliver of fewer than 6 rows is copied, into
// a zero-padded buffer.
func (g *gemm) mul(c []float32, ldc int, a []float32, lda int, m int, b *packedB, bias []float32, flags int) {
	if m == 0 || b.n == 0 || b.k == 0 {
		return
	}
	k := b.k
	panels := roundUp(b.n, nr) / nr
	for i0 := 0; i0 < m; i0 += mcBlock {
		mc := min(mcBlock, m-i0)
		full := mc / mr * mr
		for k0 := 0; k0 < k; k0 += kcBlock {
			kc := min(kcBlock, k-k0)
			if full < mc {
				pad := g.apad[:mr*kc]
				clear(pad)
				for r := 0; r < mc-full; r++ {
					src := a[(i0+full+r)*lda+k0:]
					copy(pad[r*kc:(r+1)*kc], src[:kc])
				}
			}
			f := flags &^ (kRelu | kBias)
			if k0 > 0 {
				f |= kLoad // later k-blocks add to the earlier ones
			} else {
				f |= flags & kBias
			}
			if k0+kc >= k {
				f |= flags & kRelu
			}
			for p := 0; p < panels; p++ {
				bp := b.panel(k0, kc, p)
				bs := zeroBias[:]
				if bias != nil && f&kBias != 0 {
					bs = bias[p*nr:]
					if len(bs) < nr {
						bs = g.padBias(bs)
					}
				}
				cols := min(nr, b.n-p*nr)
				if cols == nr && full > 0 {
					g.kernel(a[i0*lda+k0:], lda, bp, c[i0*ldc+p*nr:], kc, ldc, bs, f, full/mr)
				}
				for s := 0; s < mc; s += mr {
					off := (i0+s)*ldc + p*nr
					switch {
					case s == full:
						g.edge(g.apad[:mr*kc], kc, bp, c[off:], ldc, mc-full, cols, kc, bs, f)
					case cols < nr:
						g.edge(a[(i0+s)*lda+k0:], lda, bp, c[off:], ldc, mr, cols, kc, bs, f)
					}
				}
			}
		}
	}
}

// padBias copies a short bias (a last panel narrower than 16) into a
// zero-padded one.
func (g *gemm) padBias(bs []float32) []float32 {
	var p [nr]float32
	copy(p[:], bs)
	return p[:]
}

// edge runs the kernel on a partial block of C (fewer than 6 rows or 16
// columns) through the tile, so the kernel never writes outside C.
func (g *gemm) edge(a []float32, lda int, bp, c []float32, ldc, rows, cols, kc int, bias []float32, f int) {
	t := g.tile[:]
	clear(t)
	if f&kLoad != 0 {
		for r := 0; r < rows; r++ {
			copy(t[r*nr:r*nr+cols], c[r*ldc:r*ldc+cols])
		}
	}
	g.kernel(a, lda, bp, t, kc, nr, bias, f, 1)
	for r := 0; r < rows; r++ {
		copy(c[r*ldc:r*ldc+cols], t[r*nr:r*nr+cols])
	}
}

// kernel runs ns 6×16 blocks down C (rows advance by 6 in A and C, B
// and the bias stay): the assembly kernel when the CPU has AVX2 and FMA,
// else kernelGo. The slices' lengths are checked here so the assembly
// never reads or writes past them.
func (g *gemm) kernel(a []float32, lda int, b, c []float32, kc, ldc int, bias []float32, flags, ns int) {
	_ = a[(ns*mr-1)*lda+kc-1]
	_ = b[kc*nr-1]
	_ = c[(ns*mr-1)*ldc+nr-1]
	_ = bias[nr-1]
	if g.asm {
		kern6x16(unsafe.SliceData(a), lda, unsafe.SliceData(b), unsafe.SliceData(c), kc, ldc, unsafe.SliceData(bias), flags, ns)
		return
	}
	for s := 0; s < ns; s++ {
		kernelGo(a[s*mr*lda:], lda, b, c[s*mr*ldc:], kc, ldc, bias, flags)
	}
}

// kernelGo is the portable micro-kernel: C[6×16] (row stride ldc) =
// (flags&kLoad ? C : 0) + (flags&kBias ? bias : 0) + Σ_k a[r·lda+k]·b[k·16+j],
// then ReLU when flags&kRelu. Each element sums in k order, as the
// assembly does, so both paths agree to rounding (FMA vs mul+add).
func kernelGo(a []float32, lda int, b, c []float32, kc, ldc int, bias []float32, flags int) {
	var acc [nr]float32
	for r := 0; r < mr; r++ {
		if flags&kLoad != 0 {
			copy(acc[:], c[r*ldc:r*ldc+nr])
		} else {
			acc = [nr]float32{}
		}
		if flags&kBias != 0 {
			for j := range nr {
				acc[j] += bias[j]
			}
		}
		ar := a[r*lda : r*lda+kc]
		for k, av := range ar {
			bk := (*[nr]float32)(b[k*nr : k*nr+nr])
			for j := range nr {
				acc[j] += av * bk[j]
			}
		}
		if flags&kRelu != 0 {
			for j := range nr {
				acc[j] = max(acc[j], 0)
			}
		}
		copy(c[r*ldc:r*ldc+nr], acc[:])
	}
}
