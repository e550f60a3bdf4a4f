package hnsw

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lakehouse/internal/racetest"
)

func buildOnDisk(t *testing.T, cfg Config, base [][]float32, path string) *Graph {
	t.Helper()
	vf, err := CreateVectorFile(path, cfg.Dim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vf.Close() })
	g, err := NewOnDisk(cfg, vf)
	if err != nil {
		t.Fatal(err)
	}
	g.Reserve(len(base))
	for _, v := range base {
		if _, err := g.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func searchAll(g *Graph, queries [][]float32, k int) [][]Neighbor {
	out := make([][]Neighbor, len(queries))
	for i, q := range queries {
		out[i], _ = g.Search(q, k, 0, nil)
	}
	return out
}

// Rescoring from a vector file answers exactly as rescoring from memory
// (same graph, same float32 copies), at the int8 graph's memory, and
// survives a snapshot into a fresh file.
func TestDiskRescoreMatchesMemory(t *testing.T) {
	// Three single-inserter builds compared answer by answer: CPU-bound.
	racetest.CPUBound(t)
	const dim, k = 48, 10
	base, queries := clustered(9, 1500, 40, dim)
	cfg := Config{Dim: dim, Metric: Cosine, Seed: 3, Quantization: Int8}
	none := build(t, cfg, base, 1)
	cfg.Rescore = true
	mem := build(t, cfg, base, 1)
	dir := t.TempDir()
	disk := buildOnDisk(t, cfg, base, filepath.Join(dir, "a.vec"))

	want := searchAll(mem, queries, k)
	got := searchAll(disk, queries, k)
	if !slices.EqualFunc(want, got, func(a, b []Neighbor) bool { return slices.Equal(a, b) }) {
		t.Fatal("disk rescoring answers differently from memory rescoring")
	}
	truth := groundTruth(Cosine, base, queries, k)
	t.Logf("recall@10 memory %.3f disk %.3f", recallAt(want, truth), recallAt(got, truth))
	if disk.VectorBytes() != none.VectorBytes() || disk.VectorBytes() >= mem.VectorBytes() {
		t.Fatalf("vector memory: disk %d, none %d, memory %d", disk.VectorBytes(), none.VectorBytes(), mem.VectorBytes())
	}
	if want := int64(len(base)) * int64(dim*4+4); disk.DiskBytes() != want {
		t.Fatalf("disk bytes %d, want %d", disk.DiskBytes(), want)
	}
	for _, id := range []uint32{0, 700} {
		if !slices.Equal(disk.Vector(id), mem.Vector(id)) {
			t.Fatalf("Vector(%d) differs", id)
		}
		if !disk.Holds(id, base[id]) {
			t.Fatalf("Holds(%d) false for its own vector", id)
		}
	}
	ex1, _ := mem.Exact(queries[0], k, nil)
	ex2, _ := disk.Exact(queries[0], k, nil)
	if !slices.Equal(ex1, ex2) {
		t.Fatalf("Exact differs: %v vs %v", ex1, ex2)
	}
	d1, _ := mem.Distances(queries[1], []uint32{3, 5, 8})
	d2, _ := disk.Distances(queries[1], []uint32{3, 5, 8})
	if !slices.Equal(d1, d2) {
		t.Fatalf("Distances differ: %v vs %v", d1, d2)
	}

	// The snapshot of a disk graph is the memory graph's, byte for byte,
	// and either reloads on disk (into a new, empty file) or in memory.
	var bd, bm bytes.Buffer
	if _, err := disk.WriteTo(&bd); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.WriteTo(&bm); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bd.Bytes(), bm.Bytes()) {
		t.Fatal("disk and memory graphs write different snapshots")
	}
	vf, err := CreateVectorFile(filepath.Join(dir, "b.vec"), dim)
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Remove()
	re, err := ReadOnDisk(bytes.NewReader(bd.Bytes()), int64(bd.Len()), vf)
	if err != nil {
		t.Fatal(err)
	}
	if re.Config() != disk.Config() || re.VectorFile() != vf || re.VectorBytes() != disk.VectorBytes() {
		t.Fatalf("reloaded: config %+v, vector bytes %d", re.Config(), re.VectorBytes())
	}
	if got := searchAll(re, queries, k); !slices.EqualFunc(want, got, func(a, b []Neighbor) bool { return slices.Equal(a, b) }) {
		t.Fatal("reloaded disk graph answers differently")
	}
	inMem, err := Read(bytes.NewReader(bd.Bytes()), int64(bd.Len()))
	if err != nil || inMem.VectorBytes() != mem.VectorBytes() {
		t.Fatalf("disk snapshot read into memory: %v", err)
	}
	// A snapshot without float32 copies cannot fill a vector file.
	var bn bytes.Buffer
	none.WriteTo(&bn)
	if _, err := ReadOnDisk(bytes.NewReader(bn.Bytes()), int64(bn.Len()), vf); err == nil {
		t.Fatal("rescore-less snapshot read onto disk")
	}
}

// A vector file damaged under a running graph (a flipped byte, a
// truncation) is noticed by its checksums: rescoring falls back to the
// codes (the int8 answers, not garbage), DiskErr reports it, and WriteTo
// refuses to write a snapshot that would lack vectors.
func TestDiskRescoreDamagedFile(t *testing.T) {
	const dim, k = 32, 5
	base, queries := clustered(4, 600, 20, dim)
	cfg := Config{Dim: dim, Metric: L2, Seed: 5, Quantization: Int8}
	none := build(t, cfg, base, 1)
	path := filepath.Join(t.TempDir(), "v.vec")
	g := buildOnDisk(t, Config{Dim: dim, Metric: L2, Seed: 5, Quantization: Int8}, base, path)
	if g.DiskErr() != nil {
		t.Fatal(g.DiskErr())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		raw[i] ^= 0x5a
	}
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	want := searchAll(none, queries, k)
	got := searchAll(g, queries, k)
	if !slices.EqualFunc(want, got, func(a, b []Neighbor) bool { return slices.Equal(a, b) }) {
		t.Fatal("a damaged vector file changed the answers beyond the codes' own")
	}
	if g.DiskErr() == nil {
		t.Fatal("damage not reported")
	}
	if !slices.Equal(g.Vector(1), none.Vector(1)) {
		t.Fatal("Vector of a damaged slot is not its codes' vector")
	}
	if _, err := g.WriteTo(&bytes.Buffer{}); err == nil {
		t.Fatal("snapshot written from a damaged vector file")
	}
}
