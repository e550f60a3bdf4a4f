// Package cpus remembers how many CPUs the process may use, as the Go
// runtime worked it out at start (the CPU affinity mask and any cgroup
// quota), before the server raises GOMAXPROCS above it (see
// config.ServerConfig.GoMaxProcs). Code that sizes a worker pool to the
// hardware asks here, not runtime.GOMAXPROCS(0), so that raising the
// scheduler's thread count does not also multiply its workers.
package cpus

import "runtime"

var detected = max(1, runtime.GOMAXPROCS(0))

// N is the number of CPUs this process may use.
func N() int { return detected }
