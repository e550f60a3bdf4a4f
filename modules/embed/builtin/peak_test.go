package builtin

import (
	"runtime"
	"time"
)

// peakGFLOPS measures one core's fp32 FMA peak with fmaPeak: the best of
// five 20 ms runs, so other work on a shared machine lowers it less. It
// is 0 where the assembly kernels cannot run.
func peakGFLOPS() float64 {
	if !hasAVX2FMA {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const iters = 1 << 20
	best := 0.0
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		start := time.Now()
		fmaPeak(iters)
		best = max(best, iters*192/time.Since(start).Seconds()/1e9)
	}
	return best
}
