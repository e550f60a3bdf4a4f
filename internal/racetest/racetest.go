// Package racetest lets a test that is slow only because of the race
// detector's instrumentation (a single-threaded quality check over tens
// of thousands of vectors: 40 s under -race, 3 s without) run in `make
// test`'s pass without -race instead, so the suite loses no test and the
// race pass loses nothing it could find.
package racetest

import "testing"

// CPUBound skips t when the race detector is on: `make test` runs the
// tests that call it again without -race (see HEAVY_TESTS in the
// Makefile, which must name them).
func CPUBound(t testing.TB) {
	t.Helper()
	if Enabled {
		t.Skip("single-threaded and CPU-bound: runs in make test's pass without -race")
	}
}
