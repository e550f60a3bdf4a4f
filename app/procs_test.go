package app

import (
	"runtime"
	"testing"

	"lakehouse/config"
	"lakehouse/internal/cpus"
)

func TestApplyProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	t.Setenv("GOMAXPROCS", "")

	applyProcs(config.ServerConfig{}, nil)
	if got, want := runtime.GOMAXPROCS(0), 2*cpus.N(); got != want {
		t.Fatalf("auto: GOMAXPROCS %d, want twice the CPUs (%d)", got, want)
	}
	applyProcs(config.ServerConfig{GoMaxProcs: 3}, nil)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("configured 3: GOMAXPROCS %d", got)
	}

	// An operator's GOMAXPROCS wins over auto, not over an explicit key.
	t.Setenv("GOMAXPROCS", "5")
	runtime.GOMAXPROCS(5)
	applyProcs(config.ServerConfig{}, nil)
	if got := runtime.GOMAXPROCS(0); got != 5 {
		t.Fatalf("env 5, auto config: GOMAXPROCS %d", got)
	}
	applyProcs(config.ServerConfig{GoMaxProcs: 2}, nil)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("env 5, configured 2: GOMAXPROCS %d", got)
	}
}
