package vector

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"lakehouse/modules/vector/hnsw"
)

// index is one named index in memory: the graph plus the id and metadata
// of every node. Node ids are the graph's; a node whose id is "" is a
// tombstone (deleted, or replaced by an upsert) or not yet registered.
type index struct {
	spec   IndexSpec
	metric hnsw.Metric

	// writeMu serialises batches (adds, deletes) and snapshots, so the WAL
	// order is the order applied in memory and a snapshot is one point in
	// that order. Searches never take it.
	writeMu sync.Mutex

	// mu guards the fields below; searches hold it shared for their length,
	// a batch holds it exclusively only to publish its nodes.
	mu   sync.RWMutex
	g    *hnsw.Graph
	ids  []string
	meta []map[string]any
	byID map[string]uint32
	live int

	// Persistence state, under writeMu.
	seq      uint64 // last batch applied (WAL sequence)
	snapSeq  uint64 // last batch covered by the snapshot
	walBytes int64
	walSeqs  []uint64
	lastSnap time.Time
	dropped  bool
	// compacting is set while a background compaction is queued or running.
	compacting bool
	// quarantined is set at load: objects set aside (see quarantine.go).
	quarantined int
}

func newIndex(spec IndexSpec) (*index, error) {
	metric, err := hnsw.ParseMetric(spec.Metric)
	if err != nil {
		return nil, err
	}
	g, err := hnsw.New(hnsw.Config{Dim: spec.Dim, Metric: metric, M: spec.M,
		EfConstruction: spec.EfConstruction, EfSearch: spec.EfSearch, Seed: seedFor(spec.Name)})
	if err != nil {
		return nil, err
	}
	return &index{spec: spec, metric: metric, g: g, byID: map[string]uint32{}, lastSnap: time.Now()}, nil
}

// seedFor gives each index its own deterministic level sequence.
func seedFor(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}

// applyAdd upserts a validated, de-duplicated batch. Nodes are inserted
// into the graph in parallel, then published together, so a search sees
// all of the batch or none of it. Call with writeMu held.
func (ix *index) applyAdd(items []Item) error {
	ix.mu.RLock()
	g := ix.g
	metaOnly := make([]bool, len(items))
	fresh := 0
	for i, it := range items {
		if old, ok := ix.byID[it.ID]; ok && sameVector(g, ix.metric, old, it.Vector) {
			metaOnly[i] = true
			continue
		}
		fresh++
	}
	ix.mu.RUnlock()

	nodes := make([]uint32, len(items))
	if fresh > 0 {
		g.Reserve(g.Len() + fresh)
		if err := addParallel(g, items, metaOnly, nodes); err != nil {
			return err
		}
	}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, it := range items {
		old, had := ix.byID[it.ID]
		md := it.Metadata
		if md == nil && had {
			md = ix.meta[old] // omitted metadata keeps the old
		} else if len(md) == 0 {
			md = nil // {} clears
		}
		if metaOnly[i] {
			ix.meta[old] = md
			continue
		}
		n := nodes[i]
		for int(n) >= len(ix.ids) {
			ix.ids = append(ix.ids, "")
			ix.meta = append(ix.meta, nil)
		}
		ix.ids[n], ix.meta[n], ix.byID[it.ID] = it.ID, md, n
		if had {
			g.Delete(old)
			ix.ids[old], ix.meta[old] = "", nil
		} else {
			ix.live++
		}
	}
	return nil
}

// addParallel inserts the items not marked metaOnly, using every core for
// large batches (HNSW insertion is the expensive part of an add).
func addParallel(g *hnsw.Graph, items []Item, skip []bool, nodes []uint32) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(items)/64))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int, 64)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id, err := g.Add(items[i].Vector)
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					continue
				}
				nodes[i] = id
			}
		}()
	}
	for i := range items {
		if !skip[i] {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	return first
}

// sameVector reports whether node holds v already (after normalisation
// under cosine), in which case an upsert only changes metadata.
func sameVector(g *hnsw.Graph, m hnsw.Metric, node uint32, v []float32) bool {
	old := g.Vector(node)
	if len(old) != len(v) {
		return false
	}
	if m == hnsw.Cosine {
		v = slices.Clone(v)
		if !hnsw.Normalize(v) {
			return false
		}
	}
	return slices.Equal(old, v)
}

// applyDelete tombstones the ids that exist. Call with writeMu held.
func (ix *index) applyDelete(ids []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range ids {
		n, ok := ix.byID[id]
		if !ok {
			continue
		}
		ix.g.Delete(n)
		ix.ids[n], ix.meta[n] = "", nil
		delete(ix.byID, id)
		ix.live--
	}
}

// missing returns the ids that do not exist.
func (ix *index) missing(ids []string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []string
	for _, id := range ids {
		if _, ok := ix.byID[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// length is the number of live items.
func (ix *index) length() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// info describes the index.
func (ix *index) info() IndexInfo {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	mem := ix.g.MemoryBytes() + int64(len(ix.ids))*(16+8)
	for i, id := range ix.ids {
		mem += int64(len(id))
		if ix.meta[i] != nil {
			mem += int64(48 * (len(ix.meta[i]) + 1))
		}
	}
	return IndexInfo{IndexSpec: ix.spec, Length: ix.live, MemoryBytes: mem, Quarantined: ix.quarantined}
}

// rebuilt returns a fresh graph holding only the live nodes (compaction of
// tombstones), with the matching ids and metadata. Call with writeMu held.
func (ix *index) rebuilt() (*hnsw.Graph, []string, []map[string]any, map[string]uint32, error) {
	ix.mu.RLock()
	cfg := ix.g.Config()
	var items []Item
	for n, id := range ix.ids {
		if id != "" {
			items = append(items, Item{ID: id, Vector: ix.g.Vector(uint32(n)), Metadata: ix.meta[n]})
		}
	}
	ix.mu.RUnlock()
	g, err := hnsw.New(cfg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	g.Reserve(len(items))
	nodes := make([]uint32, len(items))
	if err := addParallel(g, items, make([]bool, len(items)), nodes); err != nil {
		return nil, nil, nil, nil, err
	}
	ids := make([]string, len(items))
	meta := make([]map[string]any, len(items))
	byID := make(map[string]uint32, len(items))
	for i, it := range items {
		ids[nodes[i]], meta[nodes[i]], byID[it.ID] = it.ID, it.Metadata, nodes[i]
	}
	return g, ids, meta, byID, nil
}
