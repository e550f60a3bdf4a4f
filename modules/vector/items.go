package vector

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"lakehouse/modules/embed"
	"lakehouse/modules/vector/hnsw"
)

// Add implements Service: embed texts, validate the whole batch, make it
// durable as one WAL segment, then apply it.
func (s *service) Add(ctx context.Context, name string, items []Item) error {
	ix, err := s.get(name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return invalid("items is empty")
	}
	if len(items) > s.cfg.MaxBatchItems {
		return tooLarge("%d items in one batch, at most %d (vector.max_batch_items); split it", len(items), s.cfg.MaxBatchItems)
	}
	items = slices.Clone(items)
	recordModel, err := s.embedItems(ctx, ix, items)
	if err != nil {
		return err
	}
	batch, err := validateItems(ix, items)
	if err != nil {
		return err
	}

	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if recordModel != "" && ix.spec.Model == "" {
		spec := ix.spec
		spec.Model = recordModel
		if err := s.putSpec(context.WithoutCancel(ctx), spec); err != nil {
			return err
		}
		ix.mu.Lock()
		ix.spec.Model = recordModel
		ix.mu.Unlock()
	}
	if err := s.appendWAL(ctx, ix, segment{op: opAdd, items: batch}); err != nil {
		return err
	}
	if err := ix.applyAdd(batch); err != nil {
		// Validation ran first, so this is a bug; the WAL holds the batch
		// and a restart replays it.
		return fmt.Errorf("vector: apply batch to %q: %w", name, err)
	}
	s.met.writes(len(batch), 0)
	ix.retune(s.cfg.MaxEf)
	s.maybeCompact(ix)
	return nil
}

// embedItems fills Vector from Text with the index's model. It returns
// the model to record when the index had none.
func (s *service) embedItems(ctx context.Context, ix *index, items []Item) (string, error) {
	var texts []string
	var at []int
	for i, it := range items {
		if it.Vector == nil && it.Text != "" {
			texts = append(texts, it.Text)
			at = append(at, i)
		}
	}
	if len(texts) == 0 {
		return "", nil
	}
	model, err := s.checkModel(ix)
	if err != nil {
		return "", err
	}
	vecs, err := s.emb.EmbedBatch(ctx, texts)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrEmbed, err)
	}
	if len(vecs) != len(texts) {
		return "", fmt.Errorf("%w: %w: embedder returned %d vectors for %d texts", ErrEmbed, embed.ErrBadResponse, len(vecs), len(texts))
	}
	for j, i := range at {
		items[i].Vector = vecs[j]
	}
	return model, nil
}

// checkModel returns the embedder's model when it can serve ix: same
// model (or none recorded yet) and same dimension.
func (s *service) checkModel(ix *index) (string, error) {
	ix.mu.RLock()
	spec := ix.spec
	ix.mu.RUnlock()
	if s.emb == nil {
		return "", noEmbedder("text given, send vectors instead")
	}
	if spec.Model != "" && spec.Model != s.emb.Model() {
		return "", invalid("index %q holds vectors of model %q, but the configured embedder is %q", spec.Name, spec.Model, s.emb.Model())
	}
	if d := s.emb.Dimension(); d != 0 && d != spec.Dim {
		return "", invalid("embedder model %q has dimension %d, index %q has dimension %d", s.emb.Model(), s.emb.Dimension(), spec.Name, spec.Dim)
	}
	return s.emb.Model(), nil
}

// validateItems checks every item before any is applied and merges
// repeated ids in order (the last vector wins; metadata follows the
// upsert rule item by item).
func validateItems(ix *index, items []Item) ([]Item, error) {
	dim := ix.spec.Dim
	pos := map[string]int{}
	out := make([]Item, 0, len(items))
	for i, it := range items {
		switch {
		case it.ID == "":
			return nil, invalid("item %d: id is required", i)
		case len(it.ID) > maxIDLen:
			return nil, invalid("item %d: id is longer than %d bytes", i, maxIDLen)
		case !utf8.ValidString(it.ID):
			return nil, invalid("item %d: id is not valid UTF-8", i)
		case it.Vector == nil:
			return nil, invalid("item %d (id %q): vector (or text) is required", i, it.ID)
		case len(it.Vector) != dim:
			return nil, invalid("item %d (id %q): vector has dimension %d, index %q has dimension %d", i, it.ID, len(it.Vector), ix.spec.Name, dim)
		}
		if err := checkVector(ix.metric, it.Vector); err != nil {
			return nil, invalid("item %d (id %q): %v", i, it.ID, err)
		}
		if err := validateMetadata(it.Metadata); err != nil {
			return nil, invalid("item %d (id %q): %v", i, it.ID, err)
		}
		if len(it.Text) > maxTextBytes {
			return nil, invalid("item %d (id %q): text is %d bytes, at most %d", i, it.ID, len(it.Text), maxTextBytes)
		}
		if !utf8.ValidString(it.Text) {
			return nil, invalid("item %d (id %q): text is not valid UTF-8", i, it.ID)
		}
		if p, seen := pos[it.ID]; seen {
			if it.Metadata == nil {
				it.Metadata = out[p].Metadata
			}
			if it.Text == "" && slices.Equal(it.Vector, out[p].Vector) {
				it.Text = out[p].Text // same vector, no text: keeps the text (as applyAdd does)
			}
			out[p] = it
			continue
		}
		pos[it.ID] = len(out)
		out = append(out, it)
	}
	return out, nil
}

// checkVector refuses what the graph would refuse (hnsw.Check, the same
// computation Add runs): NaN, ±Inf, under cosine a vector whose float32
// norm is zero, underflows or overflows, under dot and euclidean a norm
// whose distances could overflow. It runs before a batch is written to
// the WAL, so nothing durable can fail to apply.
func checkVector(m hnsw.Metric, v []float32) error { return hnsw.Check(m, v) }

// Delete implements Service: unknown ids fail the call before anything is
// deleted.
func (s *service) Delete(ctx context.Context, name string, ids []string) error {
	ix, err := s.get(name)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return invalid("ids is empty")
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if miss := ix.missing(ids); len(miss) > 0 {
		return fmt.Errorf("%w: %q in index %q", ErrItemNotFound, miss[0], name)
	}
	if err := s.appendWAL(ctx, ix, segment{op: opDelete, ids: ids}); err != nil {
		return err
	}
	ix.applyDelete(ids)
	s.met.writes(0, len(ids))
	s.maybeCompact(ix)
	return nil
}
