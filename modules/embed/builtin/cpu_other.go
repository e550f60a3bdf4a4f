//go:build !amd64

package builtin

// hasAVX2FMA is false off amd64: only the Go kernels exist there.
const hasAVX2FMA = false

func fmaPeak(int) {}
