package vector

import (
	"fmt"
	"sync"
	"time"

	"lakehouse/internal/cpus"
	"lakehouse/modules/vector/bm25"
	"lakehouse/modules/vector/hnsw"
)

// index is one named index in memory: the graph plus the id and metadata
// of every node. Node ids are the graph's; a node whose id is "" is a
// tombstone (deleted, or replaced by an upsert) or not yet registered.
type index struct {
	spec   IndexSpec
	metric hnsw.Metric
	// files makes the vector file of a "rescore": "disk" graph (a
	// compaction's rebuild needs a new one).
	files *rescoreDir

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
	// texts holds each node's text ("" for none), which kw indexes.
	texts []string
	kw    *bm25.Index
	byID  map[string]uint32
	live  int
	// tuned is the ef chosen for spec.TargetRecall (zero: none yet).
	tuned tuning

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

// newIndex returns an empty index for spec; files makes the vector file a
// "rescore": "disk" index needs (the caller releases it if the index is
// not kept).
func newIndex(spec IndexSpec, files *rescoreDir) (*index, error) {
	metric, err := hnsw.ParseMetric(spec.Metric)
	if err != nil {
		return nil, err
	}
	quant, err := hnsw.ParseQuantization(spec.Quantization)
	if err != nil {
		return nil, err
	}
	ix := &index{spec: spec, metric: metric, files: files, kw: bm25.New(), byID: map[string]uint32{}, lastSnap: time.Now()}
	ix.g, err = ix.newGraph(hnsw.Config{Dim: spec.Dim, Metric: metric, M: spec.M,
		EfConstruction: spec.EfConstruction, EfSearch: spec.EfSearch, Seed: seedFor(spec.Name),
		Quantization: quant, Rescore: quant != hnsw.Float32 && spec.Rescore == "memory"})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// onDisk reports whether the index rescores from a vector file.
func (ix *index) onDisk() bool {
	return ix.spec.Quantization == hnsw.Int8.String() && ix.spec.Rescore == "disk"
}

// newGraph returns an empty graph of cfg, with a new vector file when the
// index rescores from disk.
func (ix *index) newGraph(cfg hnsw.Config) (*hnsw.Graph, error) {
	if !ix.onDisk() {
		return hnsw.New(cfg)
	}
	vf, err := ix.files.create(ix.spec.Name, cfg.Dim)
	if err != nil {
		return nil, err
	}
	g, err := hnsw.NewOnDisk(cfg, vf)
	if err != nil {
		vf.Remove()
		return nil, err
	}
	return g, nil
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
// all of the batch or none of it. Text follows the vector: an item's text
// is kept when it comes with the same vector and no text, and replaced
// (or cleared) when its vector changes. Call with writeMu held.
func (ix *index) applyAdd(items []Item) error {
	ix.mu.RLock()
	g := ix.g
	metaOnly := make([]bool, len(items))
	fresh := 0
	for i, it := range items {
		if old, ok := ix.byID[it.ID]; ok && g.Holds(old, it.Vector) {
			metaOnly[i] = true
			continue
		}
		fresh++
	}
	ix.mu.RUnlock()

	// Tokenise outside the lock: searches wait only for the publication.
	terms := make([][]string, len(items))
	for i, it := range items {
		if it.Text != "" {
			terms[i] = bm25.Tokenize(it.Text)
		}
	}
	nodes := make([]uint32, len(items))
	if fresh > 0 {
		g.Reserve(g.Len() + fresh)
		if err := addParallel(g, items, metaOnly, nodes); err != nil {
			return err
		}
		if fresh >= repairBatch {
			// A parallel build can leave a node without an in-link;
			// re-link such orphans before the batch is published.
			g.Repair()
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
			if it.Text != "" && it.Text != ix.texts[old] {
				ix.setText(old, it.Text, terms[i])
			}
			continue
		}
		n := nodes[i]
		for int(n) >= len(ix.ids) {
			ix.ids = append(ix.ids, "")
			ix.meta = append(ix.meta, nil)
			ix.texts = append(ix.texts, "")
		}
		ix.ids[n], ix.meta[n], ix.byID[it.ID] = it.ID, md, n
		ix.setText(n, it.Text, terms[i])
		if had {
			g.Delete(old)
			ix.setText(old, "", nil)
			ix.ids[old], ix.meta[old] = "", nil
		} else {
			ix.live++
		}
	}
	return nil
}

// repairBatch is the batch size from which an add runs the graph's
// repair pass: only a parallel insertion (≥ 64 items per worker) can
// orphan a node, and the pass walks the whole graph.
const repairBatch = 128

// setText replaces node n's text and its keyword entry (terms: text's
// tokens, nil to tokenise here). Call with mu held exclusively.
func (ix *index) setText(n uint32, text string, terms []string) {
	if old := ix.texts[n]; old != "" {
		ix.kw.Remove(n, bm25.Tokenize(old))
	}
	ix.texts[n] = text
	if text != "" {
		if terms == nil {
			terms = bm25.Tokenize(text)
		}
		ix.kw.Add(n, terms)
	}
}

// addParallel inserts the items not marked metaOnly, using every core for
// large batches (HNSW insertion is the expensive part of an add).
func addParallel(g *hnsw.Graph, items []Item, skip []bool, nodes []uint32) error {
	workers := min(cpus.N(), max(1, len(items)/64))
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
		ix.setText(n, "", nil)
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
	mem := ix.g.MemoryBytes() + int64(len(ix.ids))*(16+8+16) + ix.kw.MemoryBytes()
	for i, id := range ix.ids {
		mem += int64(len(id)) + int64(len(ix.texts[i]))
		if ix.meta[i] != nil {
			mem += int64(48 * (len(ix.meta[i]) + 1))
		}
	}
	return IndexInfo{IndexSpec: ix.spec, Length: ix.live, MemoryBytes: mem, KeywordDocs: ix.kw.Docs(),
		Quantization: ix.g.Config().Quantization.String(), VectorMemoryBytes: ix.g.VectorBytes(), RescoreDiskBytes: ix.g.DiskBytes(),
		EfTuned: ix.tuned.ef, TunedRecall: ix.tuned.recall, TunedAtLength: ix.tuned.at, Quarantined: ix.quarantined}
}

// contents is an index's graph and per-node data, swapped in whole by a
// compaction that rebuilds.
type contents struct {
	g     *hnsw.Graph
	ids   []string
	meta  []map[string]any
	texts []string
	kw    *bm25.Index
	byID  map[string]uint32
}

// rebuilt returns a fresh graph holding only the live nodes (compaction of
// tombstones), with the matching ids, metadata, texts and keyword index.
// Call with writeMu held.
func (ix *index) rebuilt() (_ contents, err error) {
	ix.mu.RLock()
	cfg := ix.g.Config()
	var items []Item
	for n, id := range ix.ids {
		if id != "" {
			items = append(items, Item{ID: id, Vector: ix.g.Vector(uint32(n)), Metadata: ix.meta[n], Text: ix.texts[n]})
		}
	}
	diskErr := ix.g.DiskErr()
	ix.mu.RUnlock()
	if diskErr != nil {
		// Vector fell back to codes for what the file lost: rebuilding
		// from them would make the loss permanent (a restart rebuilds the
		// file from the store instead).
		return contents{}, fmt.Errorf("rescore file: %w", diskErr)
	}
	g, err := ix.newGraph(cfg)
	if err != nil {
		return contents{}, err
	}
	defer func() {
		if err != nil {
			release(g)
		}
	}()
	g.Reserve(len(items))
	nodes := make([]uint32, len(items))
	if err := addParallel(g, items, make([]bool, len(items)), nodes); err != nil {
		return contents{}, err
	}
	g.Repair()
	c := contents{g: g, ids: make([]string, len(items)), meta: make([]map[string]any, len(items)),
		texts: make([]string, len(items)), kw: bm25.New(), byID: make(map[string]uint32, len(items))}
	for i, it := range items {
		n := nodes[i]
		c.ids[n], c.meta[n], c.texts[n], c.byID[it.ID] = it.ID, it.Metadata, it.Text, n
		if it.Text != "" {
			c.kw.Add(n, bm25.Tokenize(it.Text))
		}
	}
	return c, nil
}
