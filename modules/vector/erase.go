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
