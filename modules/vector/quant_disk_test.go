package vector

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lakehouse/modules/vector/internal/synth"
)

// rescoreFiles lists the vector files in s's rescore directory.
func rescoreFiles(t *testing.T, s *service) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.rescore.dir, "*.f32"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// An int8 index rescoring from disk keeps the int8 memory, finds what the
// float32 index finds (within a recall point), and comes back after a
// restart without a clean close — its snapshot and WAL hold the float32
// vectors, its file is rebuilt from them even when damaged — answering
// the same, distances included. A compaction that rebuilds carries it.
func TestInt8DiskIndexRecallAndRestart(t *testing.T) {
	const dim, n, k = 96, 3000, 10
	base, queries := synth.Clustered(31, n, 60, dim)
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "f", Dim: dim})
	mustCreate(t, s, IndexSpec{Name: "qd", Dim: dim, Quantization: "int8", Rescore: "disk"})
	add := func(s *service, name string, from, to int) {
		t.Helper()
		var items []Item
		for i := from; i < to; i++ {
			items = append(items, Item{ID: fmt.Sprint(i), Vector: base[i], Metadata: map[string]any{"i": float64(i)}})
		}
		if err := s.Add(ctxb(), name, items); err != nil {
			t.Fatal(err)
		}
	}
	for from := 0; from < n; from += 1000 {
		add(s, "f", from, from+1000)
		add(s, "qd", from, min(from+1000, n-20))
	}
	f, _ := s.Info(ctxb(), "f")
	qd, _ := s.Info(ctxb(), "qd")
	ratio := float64(qd.VectorMemoryBytes) / float64(f.VectorMemoryBytes)
	if qd.Rescore != "disk" || ratio > 0.3 || qd.RescoreDiskBytes < int64((n-20)*dim*4) || f.RescoreDiskBytes != 0 {
		t.Fatalf("info: %+v (vector memory %.3f× float32)", qd, ratio)
	}
	if len(rescoreFiles(t, s)) != 1 {
		t.Fatalf("rescore files %v", rescoreFiles(t, s))
	}
	// Snapshot, then 20 more items into the WAL only.
	ix, _ := s.get("qd")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	add(s, "qd", n-20, n)
	rf, rq := recallOf(t, s, "f", base, queries, k), recallOf(t, s, "qd", base, queries, k)
	t.Logf("recall@10 float32 %.3f, int8+disk %.3f; vector memory %.3f×, %d bytes on disk", rf, rq, ratio, qd.RescoreDiskBytes)
	if rq < rf-0.01 {
		t.Fatalf("recall@10 float32 %.3f, int8+disk %.3f", rf, rq)
	}
	answers := func(s *service) [][]Result {
		t.Helper()
		var out [][]Result
		for _, q := range queries[:20] {
			res, err := s.Search(ctxb(), "qd", SearchRequest{Vector: q, K: k, Ef: 500})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res)
		}
		return out
	}
	before := answers(s)

	// No close: the next service finds what an acknowledged batch left
	// in the store. Damage the file first: it must not matter.
	for _, p := range rescoreFiles(t, s) {
		if err := os.Truncate(p, 1000); err != nil {
			t.Fatal(err)
		}
	}
	s2 := reopen(t, s)
	after := answers(s2)
	same := func(a, b [][]Result) bool {
		return slices.EqualFunc(a, b, func(x, y []Result) bool {
			return slices.EqualFunc(x, y, func(p, q Result) bool { return p.ID == q.ID && p.Distance == q.Distance })
		})
	}
	if !same(before, after) {
		t.Fatalf("answers differ after restart:\n%v\n%v", before[0], after[0])
	}
	if files := rescoreFiles(t, s2); len(files) != 1 {
		t.Fatalf("rescore files after restart: %v (the old one is removed, a new one written)", files)
	}

	// Delete enough to make the compaction rebuild: the new graph gets a
	// new file, the old one goes.
	var ids []string
	for i := 0; i < 1000; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	if err := s2.Delete(ctxb(), "qd", ids); err != nil {
		t.Fatal(err)
	}
	ix2, _ := s2.get("qd")
	old := ix2.g.VectorFile().Path()
	if err := s2.compact(ctxb(), ix2); err != nil {
		t.Fatal(err)
	}
	if ix2.g.Len() != n-1000 || ix2.g.VectorFile().Path() == old {
		t.Fatalf("compaction did not rebuild onto a new file: %d nodes, file %s", ix2.g.Len(), ix2.g.VectorFile().Path())
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("old rescore file still there: %v", err)
	}
	res, err := s2.Search(ctxb(), "qd", SearchRequest{Vector: base[2500], K: 1})
	if err != nil || len(res) != 1 || res[0].ID != "2500" || res[0].Distance > 1e-5 {
		t.Fatalf("after the rebuild: %+v %v", res, err)
	}
	if err := s2.Drop(ctxb(), "qd"); err != nil {
		t.Fatal(err)
	}
	if files := rescoreFiles(t, s2); len(files) != 0 {
		t.Fatalf("rescore files after drop: %v", files)
	}
}

// A rescore file damaged while the index runs costs precision, not
// answers: searches fall back to the codes (the item's own vector still
// comes first), and the compaction refuses to snapshot codes as if they
// were the float32 vectors; a restart rebuilds the file from the store.
func TestInt8DiskFileDamagedWhileRunning(t *testing.T) {
	const dim, n = 32, 300
	base, _ := synth.Clustered(5, n, 1, dim)
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "qd", Dim: dim, Quantization: "int8", Rescore: "disk"})
	var items []Item
	for i := range base {
		items = append(items, Item{ID: fmt.Sprint(i), Vector: base[i]})
	}
	if err := s.Add(ctxb(), "qd", items); err != nil {
		t.Fatal(err)
	}
	for _, p := range rescoreFiles(t, s) {
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{0, 150, n - 1} {
		res, err := s.Search(ctxb(), "qd", SearchRequest{Vector: base[i], K: 1})
		if err != nil || len(res) != 1 || res[0].ID != fmt.Sprint(i) {
			t.Fatalf("top-1 of item %d with a damaged file: %+v %v", i, res, err)
		}
	}
	ix, _ := s.get("qd")
	if err := s.compact(ctxb(), ix); err == nil {
		t.Fatal("compaction snapshotted a damaged rescore file")
	}
	s2 := reopen(t, s)
	res, err := s2.Search(ctxb(), "qd", SearchRequest{Vector: base[7], K: 1})
	if err != nil || len(res) != 1 || res[0].ID != "7" || res[0].Distance > 1e-5 {
		t.Fatalf("after restart: %+v %v", res, err)
	}
	ix2, _ := s2.get("qd")
	if ix2.g.DiskErr() != nil {
		t.Fatal(ix2.g.DiskErr())
	}
}
