package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWorkflowKeysMovedFromObserver: a file that still sets workflow keys
// in [observer] loads, with the values applied to [workflow] and a warning
// per key; a key set in both places keeps [workflow]'s and says the old
// one is ignored.
func TestWorkflowKeysMovedFromObserver(t *testing.T) {
	f := filepath.Join(t.TempDir(), "lakehouse.toml")
	body := "[observer]\nmax_runs = 3\nnode_timeout = \"5s\"\nkeep_runs_bytes = \"1MiB\"\nmax_parallel = 7\n[workflow]\nmax_parallel = 2\n"
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Load(LoadOptions{File: f, SearchPaths: []string{}, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	w := l.Config.Workflow
	if w.MaxRuns != 3 || w.NodeTimeout.D() != 5*time.Second || w.KeepRunsBytes != 1<<20 || w.MaxParallel != 2 {
		t.Fatalf("workflow after the move: %+v", w)
	}
	all := strings.Join(l.Warnings, "\n")
	for _, want := range []string{"observer.max_runs is deprecated: it is now workflow.max_runs",
		"observer.node_timeout is deprecated", "observer.keep_runs_bytes is deprecated",
		"observer.max_parallel is deprecated and ignored: workflow.max_parallel is set too"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	// The new section alone: no warning.
	if err := os.WriteFile(f, []byte("[workflow]\nmax_runs = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = Load(LoadOptions{File: f, SearchPaths: []string{}, Environ: []string{}})
	if err != nil || l.Config.Workflow.MaxRuns != 4 || len(l.Warnings) != 0 {
		t.Fatalf("[workflow] alone: %v %d %v", err, l.Config.Workflow.MaxRuns, l.Warnings)
	}
}
