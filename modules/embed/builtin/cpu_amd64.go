package builtin

import "golang.org/x/sys/cpu"

// hasAVX2FMA reports whether the assembly kernels may run: AVX2 and FMA
// in the CPU and YMM state saved by the OS (x/sys/cpu checks both).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// fmaPeak runs iters rounds of 12 independent 8-lane FMAs (192 FLOPs a
// round), enough chains to fill both FMA pipes: the benchmark's measure
// of one core's fp32 peak.
//
//go:noescape
func fmaPeak(iters int)

// kern6x16 is the AVX2/FMA micro-kernel: see kernelGo for its contract.
//
//go:noescape
func kern6x16(a *float32, lda int, b, c *float32, kc, ldc int, bias *float32, flags, ns int)

// expSub sets w[i] = exp(w[i]-mx) for the first n (a multiple of 8)
// values at w and returns their sum.
//
//go:noescape
func expSub(w *float32, n int, mx float32) float32
