package vector

import (
	"context"
	"fmt"
)

// Eraser removes items by what they hold, leaving none of their bytes in
// the index's objects: the matching items are deleted (one WAL batch),
// then the graph is rebuilt without them, a snapshot written and every
// WAL segment deleted, so neither their texts, metadata, ids nor vectors
// survive anywhere in storage. The vector service implements it.
type Eraser interface {
	Erase(ctx context.Context, name string, match func(id, text string, meta map[string]any) bool) ([]string, error)
}

// Erase implements Eraser; it returns the ids it deleted.
func (s *service) Erase(ctx context.Context, name string, match func(id, text string, meta map[string]any) bool) ([]string, error) {
	ix, err := s.get(name)
	if err != nil {
		return nil, err
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	var ids []string
	ix.mu.RLock()
	for n, id := range ix.ids {
		if id != "" && match(id, ix.texts[n], ix.meta[n]) {
			ids = append(ids, id)
		}
	}
	ix.mu.RUnlock()
	if len(ids) > 0 {
		if err := s.appendWAL(ctx, ix, segment{op: opDelete, ids: ids}); err != nil {
			return nil, err
		}
		ix.applyDelete(ids)
		s.met.writes(0, len(ids))
	}
	// Even with nothing to delete now, an earlier run may have deleted
	// them and died before this compaction: it always runs.
	if err := s.compactLocked(ctx, ix, true); err != nil {
		return ids, fmt.Errorf("vector: erase from %q: %w", name, err)
	}
	return ids, nil
}

// DatasetSetter records, on an index created without one, the dataset
// it is filled from (the indexer, when a from-dataset run targets an
// index created by POST /v1/vectors/index): from then on the dataset's
// grants decide who sees the index. The vector service implements it.
type DatasetSetter interface {
	SetDataset(ctx context.Context, name, dataset string) error
}

// SetDataset implements DatasetSetter; an index already bound to another
// dataset keeps it.
func (s *service) SetDataset(ctx context.Context, name, dataset string) error {
	ix, err := s.get(name)
	if err != nil {
		return err
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if ix.spec.Dataset != "" {
		return nil
	}
	spec := ix.spec
	spec.Dataset = dataset
	if err := s.putSpec(ctx, spec); err != nil {
		return err
	}
	ix.mu.Lock()
	ix.spec = spec
	ix.mu.Unlock()
	return nil
}
