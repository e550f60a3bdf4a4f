package vector_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// An int8 index rescoring from disk, killed with SIGKILL (its rescore
// file then damaged), answers after a restart exactly as before, distances
// included: snapshot and WAL kept the float32 vectors, the file is rebuilt.
func TestKill9Int8DiskIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	const dim, n = 32, 2000
	if st, body, err := c.do("POST", "/v1/vectors/index", map[string]any{"name": "d8", "dimension": dim, "quantization": "int8", "rescore": "disk"}); err != nil || st != 201 {
		t.Fatalf("create: %d %s %v", st, body, err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	vec := func() []float32 {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		return v
	}
	// 2000 items of ≈ 170 bytes each in the WAL: the child (compaction at
	// 200 000 WAL bytes) snapshots on the way, so both paths are reloaded.
	for b := 0; b < n/100; b++ {
		var items []map[string]any
		for i := 0; i < 100; i++ {
			items = append(items, map[string]any{"id": fmt.Sprint(b*100 + i), "vector": vec()})
		}
		if st, body, err := c.do("POST", "/v1/vectors/index/d8/add", map[string]any{"items": items}); err != nil || st != 200 {
			t.Fatalf("add: %d %s %v", st, body, err)
		}
	}
	var queries [][]float32
	for i := 0; i < 10; i++ {
		queries = append(queries, vec())
	}
	answers := func(c *child) [][]byte {
		t.Helper()
		var out [][]byte
		for _, q := range queries {
			st, body, err := c.do("POST", "/v1/vectors/index/d8/search", map[string]any{"vector": q, "k": 10, "ef": 1000})
			if err != nil || st != 200 {
				t.Fatalf("search: %d %s %v", st, body, err)
			}
			out = append(out, body)
		}
		return out
	}
	before := answers(c)
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, "vectors", "rescore", "*.f32"))
	if len(files) != 1 {
		t.Fatalf("rescore files in the data dir: %v", files)
	}
	if err := os.Truncate(files[0], 4096); err != nil {
		t.Fatal(err)
	}
	c2 := startChild(t, dir)
	after := answers(c2)
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Fatalf("query %d after kill -9: %s\nbefore: %s", i, after[i], before[i])
		}
	}
}
