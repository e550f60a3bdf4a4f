package query

import (
	"context"
	"path/filepath"

	"lakehouse/modules/storage"
)

// partSource turns the storage keys of Parquet parts into local paths
// DuckDB can read.
type partSource interface {
	// Acquire returns one local path per key; the paths stay valid until
	// release is called.
	Acquire(ctx context.Context, keys []string) (paths []string, release func(), err error)
	// Lazy is true when parts must be fetched before a view can be built,
	// so views are created on first use instead of eagerly.
	Lazy() bool
	// Dir is the directory every path lives under (DuckDB may read only there).
	Dir() string
}

// localParts reads parts straight from a local store's files.
type localParts struct{ lp storage.LocalPather }

func (l localParts) Acquire(_ context.Context, keys []string) ([]string, func(), error) {
	paths := make([]string, len(keys))
	for i, k := range keys {
		p, err := l.lp.LocalPath(k)
		if err != nil {
			return nil, func() {}, err
		}
		paths[i] = p
	}
	return paths, func() {}, nil
}

func (l localParts) Lazy() bool { return false }

// Dir is the datasets/ prefix only: user SQL can read every dataset part
// but not vector snapshots or catalog objects beside them.
func (l localParts) Dir() string { return filepath.Join(l.lp.Root(), "datasets") }
