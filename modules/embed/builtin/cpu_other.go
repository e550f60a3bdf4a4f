//go:build !amd64

package builtin

// hasAVX2FMA is false off amd64: only the Go kernels exist there.
const hasAVX2FMA = false

func fmaPeak(int) {}

func kern6x16(a *float32, lda int, b, c *float32, kc, ldc int, bias *float32, flags, ns int) {
	panic("builtin: no assembly kernels on this architecture")
}

func expSub(w *float32, n int, mx float32) float32 {
	panic("builtin: no assembly kernels on this architecture")
}
