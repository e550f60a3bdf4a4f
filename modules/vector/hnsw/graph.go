// Package hnsw is lakehouse's own Hierarchical Navigable Small World graph
// (Malkov & Yashunin) for approximate nearest-neighbour search.
//
// Layout: every vector lives in one contiguous float32 slab (node i at
// [i*dim, (i+1)*dim)); level-0 neighbour lists live in one flat uint32
// array (node i at [i*(m0+1)], first word = count); upper-level lists live
// in a second flat array addressed by a per-node offset. Nodes are dense
// uint32 ids handed out by Add. Distances go through vek32 (AVX2+FMA when
// the CPU has them).
//
// Concurrency: any number of Search and Add calls may run at once. A
// reader/writer lock guards reallocation of the slabs (rare: Reserve grows
// them ahead of a batch); neighbour lists are guarded by striped mutexes
// held for one list at a time, so no lock order exists to deadlock on.
// Deletion is a tombstone: deleted nodes keep routing searches (the graph
// stays connected) but are never returned; callers compact by rebuilding.
package hnsw

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Metric is a distance function.
type Metric uint8

// The supported metrics. Distances ascend with dissimilarity.
const (
	// Cosine distance is 1 − cos(a, b); vectors are normalised on Add.
	Cosine Metric = iota + 1
	// Dot distance is −(a·b) (maximum inner product search).
	Dot
	// L2 distance is the Euclidean distance ‖a − b‖.
	L2
)

// String names the metric the way the HTTP API spells it.
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case Dot:
		return "dot"
	case L2:
		return "euclidean"
	}
	return fmt.Sprintf("metric(%d)", uint8(m))
}

// ParseMetric accepts cosine, dot (ip, inner_product), euclidean (l2).
func ParseMetric(s string) (Metric, error) {
	switch s {
	case "cosine", "":
		return Cosine, nil
	case "dot", "ip", "inner_product":
		return Dot, nil
	case "euclidean", "l2":
		return L2, nil
	}
	return 0, fmt.Errorf("unknown distance %q (use cosine, euclidean or dot)", s)
}

// Defaults for Config fields left zero.
const (
	DefaultM              = 16
	DefaultEfConstruction = 64
	DefaultEfSearch       = 20
)

// Config shapes a graph.
type Config struct {
	Dim            int
	Metric         Metric
	M              int // neighbours per node on upper levels; 2M on level 0
	EfConstruction int // candidate list size while inserting
	EfSearch       int // default candidate list size while searching
	Seed           uint64
	// Quantization is the vectors' storage; the graph is walked on it.
	Quantization Quantization
	// Rescore keeps a float32 copy of every vector beside int8 codes, to
	// re-rank a search's candidates at full precision: in memory (it costs
	// the float32 memory int8 saves), or in a VectorFile for a graph made
	// by NewOnDisk or ReadOnDisk. Without it candidates are re-ranked
	// against the dequantized codes.
	Rescore bool
}

func (c *Config) fill() error {
	if c.Dim <= 0 {
		return fmt.Errorf("hnsw: dimension must be positive, got %d", c.Dim)
	}
	if c.Metric == 0 {
		c.Metric = Cosine
	}
	if c.Metric > L2 {
		return fmt.Errorf("hnsw: unknown metric %d", c.Metric)
	}
	if c.Quantization > Int8 {
		return fmt.Errorf("hnsw: unknown quantization %d", c.Quantization)
	}
	if c.Quantization == Float32 {
		c.Rescore = false // the vectors are full precision already
	}
	if c.M == 0 {
		c.M = DefaultM
	}
	if c.M < 2 || c.M > 256 {
		return fmt.Errorf("hnsw: m must be in [2, 256], got %d", c.M)
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = DefaultEfConstruction
	}
	if c.EfConstruction < c.M {
		c.EfConstruction = c.M
	}
	if c.EfSearch <= 0 {
		c.EfSearch = DefaultEfSearch
	}
	return nil
}

const lockStripes = 1 << 12

// Tombstone states in Graph.deleted.
const (
	live    = 0
	dead    = 1
	pending = 2 // allocated, vector or links still being written
)

// Graph is an HNSW index over dense node ids.
type Graph struct {
	cfg Config
	dim int
	m0  int // level-0 capacity (2M)
	ml  float64
	// dist compares two rows of vecs (or a query row); fdist two float32
	// vectors (the same function for a float32 graph).
	dist  func(a, b []float32) float32
	fdist func(a, b []float32) float32
	// stride is the words per row of vecs: dim, or an int8 row's size.
	stride int

	// grow: Lock to reallocate the slabs below; RLock for every other access.
	grow sync.RWMutex
	// allocMu hands out node ids and upper-level space inside capacity.
	allocMu   sync.Mutex
	rng       *rand.Rand
	n         atomic.Uint32 // nodes allocated
	upperUsed int           // words of upper in use (under allocMu)

	vecs []float32 // capacity*stride (see rowWords)
	full []float32 // capacity*dim float32 copies (int8 with Rescore in memory only)
	// disk holds the float32 copies instead of full (NewOnDisk); diskErr
	// is its first failure, after which rescoring of the vectors it
	// cannot give back falls back to their codes.
	disk     *VectorFile
	diskErr  atomic.Pointer[error]
	lvl0     []uint32 // capacity*(m0+1)
	levels   []uint8  // top level of each node
	upperOff []uint32 // offset of level 1 in upper (levels>0 only)
	upper    []uint32 // per node: levels[i] lists of (m+1) words
	deleted  []uint32 // tombstones, accessed atomically

	entryMu  sync.RWMutex
	entry    uint32
	maxLevel int
	hasEntry bool

	locks [lockStripes]sync.Mutex
	pool  sync.Pool // *scratch
}

// New returns an empty graph.
func New(cfg Config) (*Graph, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	g := &Graph{cfg: cfg, dim: cfg.Dim, m0: 2 * cfg.M, ml: 1 / math.Log(float64(cfg.M))}
	g.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	g.fdist = distanceFunc(cfg.Metric)
	g.dist, g.stride = g.fdist, cfg.Dim
	if cfg.Quantization == Int8 {
		g.dist, g.stride = int8DistanceFunc(cfg.Metric, cfg.Dim), rowWords(cfg.Dim, Int8)
	}
	return g, nil
}

// NewOnDisk returns an empty int8 graph (cfg.Quantization must be Int8;
// Rescore is implied) whose float32 copies live in vf rather than in
// memory: Add writes each vector to its slot, a search reads back only the
// candidates it re-ranks. The graph uses vf until its owner closes it.
func NewOnDisk(cfg Config, vf *VectorFile) (*Graph, error) {
	if cfg.Quantization != Int8 {
		return nil, fmt.Errorf("hnsw: a vector file rescores int8 graphs only, got %s", cfg.Quantization)
	}
	if vf == nil || vf.dim != cfg.Dim {
		return nil, fmt.Errorf("hnsw: vector file missing or of another dimension")
	}
	cfg.Rescore = true
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	g.disk = vf
	return g, nil
}

// VectorFile is the file holding the graph's float32 copies (nil unless
// made by NewOnDisk or ReadOnDisk).
func (g *Graph) VectorFile() *VectorFile { return g.disk }

// DiskErr is the first failure to write or read the graph's vector file
// (nil: none); rescoring then uses the codes of the vectors it lacks, and
// WriteTo fails rather than write them.
func (g *Graph) DiskErr() error {
	if p := g.diskErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *Graph) noteDiskErr(err error) { g.diskErr.CompareAndSwap(nil, &err) }

// fullFromDisk reads node id's float32 copy into dst; false (the failure
// noted) when the file cannot give it back.
func (g *Graph) fullFromDisk(id uint32, dst []float32) bool {
	if err := g.disk.read(id, dst); err != nil {
		g.noteDiskErr(err)
		return false
	}
	return true
}

// DiskBytes is the size of the graph's vector file (0 without one).
func (g *Graph) DiskBytes() int64 {
	if g.disk == nil {
		return 0
	}
	return int64(g.Len()) * int64(g.disk.slot)
}

// Config returns the graph's parameters.
func (g *Graph) Config() Config { return g.cfg }

// Len is the number of nodes ever added, tombstones included.
func (g *Graph) Len() int { return int(g.n.Load()) }

// capacity is the number of nodes the slabs hold; call with grow held.
func (g *Graph) capacity() int { return len(g.levels) }

// Reserve grows the slabs to hold n nodes, so that a batch of adds does
// not reallocate (and stall searches) midway.
func (g *Graph) Reserve(n int) {
	// Fast path: room already there, no need to stall searches.
	g.grow.RLock()
	g.allocMu.Lock()
	room := n <= g.capacity() && g.upperEstimate(n) <= len(g.upper)
	g.allocMu.Unlock()
	g.grow.RUnlock()
	if room {
		return
	}
	g.grow.Lock()
	defer g.grow.Unlock()
	g.growLocked(n)
}

// growLocked reallocates to at least n nodes; call with grow locked.
func (g *Graph) growLocked(n int) {
	old := g.capacity()
	upperNeed := g.upperEstimate(n)
	if n <= old && upperNeed <= len(g.upper) {
		return
	}
	if n > old {
		c := max(n, old+old/2, 64)
		g.vecs = growSlice(g.vecs, c*g.stride)
		if g.cfg.Rescore && g.disk == nil {
			g.full = growSlice(g.full, c*g.dim)
		}
		g.lvl0 = growSlice(g.lvl0, c*(g.m0+1))
		g.levels = growSlice(g.levels, c)
		g.upperOff = growSlice(g.upperOff, c)
		g.deleted = growSlice(g.deleted, c)
		upperNeed = g.upperEstimate(c)
	}
	if upperNeed > len(g.upper) {
		g.upper = growSlice(g.upper, max(upperNeed, len(g.upper)+len(g.upper)/2))
	}
}

// upperEstimate sizes the upper-level array for n nodes: the expected
// number of upper lists is n/(M−1); twice that plus slack rarely runs out,
// and running out only costs a reallocation.
func (g *Graph) upperEstimate(n int) int {
	lists := 2*n/(g.cfg.M-1) + 64
	return max(lists*(g.cfg.M+1), g.upperUsed+64*(g.cfg.M+1))
}

func growSlice[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	out := make([]T, n)
	copy(out, s)
	return out
}

// randomLevel draws a node's top level, geometric with ratio 1/M.
func (g *Graph) randomLevel() int {
	u := 1 - g.rng.Float64() // (0, 1]
	l := int(-math.Log(u) * g.ml)
	return min(l, 30)
}

// alloc hands out a node id for a node of the given level, growing the
// slabs when needed. It returns with grow read-locked.
func (g *Graph) alloc() (uint32, int) {
	for {
		g.grow.RLock()
		g.allocMu.Lock()
		level := g.randomLevel()
		id := g.n.Load()
		need := level * (g.cfg.M + 1)
		if int(id) < g.capacity() && g.upperUsed+need <= len(g.upper) {
			g.n.Store(id + 1)
			// Pending until Add finishes: Exact scans and results skip it.
			atomic.StoreUint32(&g.deleted[id], pending)
			g.levels[id] = uint8(level)
			if level > 0 {
				g.upperOff[id] = uint32(g.upperUsed)
				g.upperUsed += need
			}
			g.allocMu.Unlock()
			return id, level
		}
		g.allocMu.Unlock()
		g.grow.RUnlock()
		g.grow.Lock()
		g.growLocked(int(id) + 1)
		g.grow.Unlock()
	}
}

// Vector returns a copy of node id's stored vector (normalised under
// cosine; under int8 without Rescore, the vector its codes approximate).
func (g *Graph) Vector(id uint32) []float32 {
	g.grow.RLock()
	defer g.grow.RUnlock()
	if int(id) >= g.Len() {
		return nil
	}
	switch {
	case g.full != nil:
		return append([]float32(nil), g.fullVec(id)...)
	case g.disk != nil:
		if v := make([]float32, g.dim); g.fullFromDisk(id, v) {
			return v
		}
		return dequantize(g.vec(id), g.dim)
	case g.cfg.Quantization == Int8:
		return dequantize(g.vec(id), g.dim)
	}
	return append([]float32(nil), g.vec(id)...)
}

// vec is node id's row in vecs (its float32 vector, or its int8 row).
func (g *Graph) vec(id uint32) []float32 {
	o := int(id) * g.stride
	return g.vecs[o : o+g.stride : o+g.stride]
}

// fullVec is node id's float32 copy (int8 with Rescore only).
func (g *Graph) fullVec(id uint32) []float32 {
	o := int(id) * g.dim
	return g.full[o : o+g.dim : o+g.dim]
}

// Delete tombstones a node: searches stop returning it but still route
// through it. Deleting an unknown or already deleted node is a no-op.
func (g *Graph) Delete(id uint32) {
	g.grow.RLock()
	defer g.grow.RUnlock()
	if int(id) < g.Len() {
		atomic.StoreUint32(&g.deleted[id], dead)
	}
}

// Deleted reports whether id is tombstoned.
func (g *Graph) Deleted(id uint32) bool {
	g.grow.RLock()
	defer g.grow.RUnlock()
	return int(id) < g.Len() && atomic.LoadUint32(&g.deleted[id]) != 0
}

func (g *Graph) isDeleted(id uint32) bool { return atomic.LoadUint32(&g.deleted[id]) != 0 }

// MemoryBytes is the size of the slabs (allocated capacity).
func (g *Graph) MemoryBytes() int64 {
	g.grow.RLock()
	defer g.grow.RUnlock()
	return int64(len(g.vecs))*4 + int64(len(g.full))*4 + int64(len(g.lvl0))*4 + int64(len(g.levels)) +
		int64(len(g.upperOff))*4 + int64(len(g.upper))*4 + int64(len(g.deleted))*4
}

// VectorBytes is the part of MemoryBytes that holds vectors: the rows
// (float32 or int8 codes with their scales) and any float32 rescoring copy
// in memory (a vector file's is DiskBytes).
func (g *Graph) VectorBytes() int64 {
	g.grow.RLock()
	defer g.grow.RUnlock()
	return int64(len(g.vecs))*4 + int64(len(g.full))*4
}

// list returns node id's neighbour list at level l as (count word, list);
// the caller holds the node's stripe lock.
func (g *Graph) list(id uint32, l int) []uint32 {
	if l == 0 {
		o := int(id) * (g.m0 + 1)
		return g.lvl0[o : o+g.m0+1 : o+g.m0+1]
	}
	o := int(g.upperOff[id]) + (l-1)*(g.cfg.M+1)
	return g.upper[o : o+g.cfg.M+1 : o+g.cfg.M+1]
}

// neighbours copies node id's level-l neighbours into buf.
func (g *Graph) neighbours(id uint32, l int, buf []uint32) []uint32 {
	mu := &g.locks[id&(lockStripes-1)]
	mu.Lock()
	ls := g.list(id, l)
	buf = append(buf[:0], ls[1:1+ls[0]]...)
	mu.Unlock()
	return buf
}

// getEntry returns the entry point and top level.
func (g *Graph) getEntry() (uint32, int, bool) {
	g.entryMu.RLock()
	defer g.entryMu.RUnlock()
	return g.entry, g.maxLevel, g.hasEntry
}
