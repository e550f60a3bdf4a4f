package vector

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"lakehouse/modules/vector/hnsw"
)

// An int8 index created with "rescore": "disk" keeps the float32 copies it
// re-ranks candidates with in a file of its own under
// <data_dir>/vectors/rescore (see hnsw.VectorFile), outside the Go heap.
// The file is a cache of what the store keeps durably on either backend:
// the WAL records every vector as float32, and such an index's snapshot
// carries the float32 copies as a "memory" index's does. So every load
// writes the file afresh from the snapshot and the WAL (a damaged,
// truncated or missing file is simply replaced), start-up removes the
// files of earlier runs, and losing the node's disk loses nothing that an
// S3 store holds.
type rescoreDir struct {
	mu  sync.Mutex
	dir string // "": a temporary directory, made on first use
	log *slog.Logger
}

// rescoreSubdir is the directory under data_dir.
const rescoreSubdir = "vectors/rescore"

// dirLocked makes the directory; call with mu held.
func (d *rescoreDir) dirLocked() error {
	if d.dir == "" {
		// A service built without a data dir (tests, tools): files still
		// need a home, and nothing in them outlives the process.
		dir, err := os.MkdirTemp("", "lakehouse-rescore-")
		if err != nil {
			return err
		}
		d.dir = dir
		return nil
	}
	return os.MkdirAll(d.dir, 0o700)
}

// create returns a new, empty vector file for index name.
func (d *rescoreDir) create(name string, dim int) (*hnsw.VectorFile, error) {
	if d == nil {
		return nil, fmt.Errorf("rescore %q needs a local directory for the index's float32 vectors, and none is configured", "disk")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.dirLocked(); err != nil {
		return nil, ioFailure(fmt.Errorf("vector: rescore directory: %w", err))
	}
	// A unique name: a compaction writes its new file while searches still
	// read the old one.
	f, err := os.CreateTemp(d.dir, name+".*.f32")
	if err != nil {
		return nil, ioFailure(fmt.Errorf("vector: create rescore file for %q: %w", name, err))
	}
	f.Close()
	vf, err := hnsw.CreateVectorFile(f.Name(), dim)
	if err != nil {
		return nil, ioFailure(err)
	}
	return vf, nil
}

// clear removes the files an earlier run left (each load writes new ones).
func (d *rescoreDir) clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dir == "" {
		return
	}
	old, _ := filepath.Glob(filepath.Join(d.dir, "*.f32"))
	for _, p := range old {
		if err := os.Remove(p); err != nil && d.log != nil {
			d.log.Warn("vector: remove old rescore file", "file", filepath.Base(p), "err", err)
		}
	}
}

// release deletes the vector file of graph g, if it has one: g is no
// longer searched (replaced by a compaction, dropped, or never served).
func release(g *hnsw.Graph) {
	if vf := g.VectorFile(); vf != nil {
		_ = vf.Remove()
	}
}
