package vector

import (
	"context"
	"fmt"

	"lakehouse/modules/embed"
)

// Search implements Service.
func (s *service) Search(ctx context.Context, name string, req SearchRequest) ([]Result, error) {
	ix, err := s.get(name)
	if err != nil {
		return nil, err
	}
	if req.K == 0 {
		req.K = defaultK
	}
	if req.K < 0 || req.K > s.cfg.MaxK {
		return nil, invalid("k must be in [1, %d] (vector.max_k), got %d", s.cfg.MaxK, req.K)
	}
	if req.Ef < 0 || req.Ef > s.cfg.MaxEf {
		return nil, invalid("ef must be in [0, %d] (vector.max_ef; 0 = the index's ef_search), got %d", s.cfg.MaxEf, req.Ef)
	}
	q := req.Vector
	if q == nil && req.Text != "" {
		if _, err := s.checkModel(ix); err != nil {
			return nil, err
		}
		// Search text is a query: asymmetric models (nomic under Ollama)
		// get their query prefix rather than the document one.
		vecs, err := s.emb.EmbedBatch(embed.WithPurpose(ctx, embed.Query), []string{req.Text})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrEmbed, err)
		}
		if len(vecs) != 1 {
			return nil, fmt.Errorf("%w: %w: embedder returned %d vectors for 1 text", ErrEmbed, embed.ErrBadResponse, len(vecs))
		}
		q = vecs[0]
	}
	if q == nil {
		return nil, invalid("vector (or text) is required")
	}
	if len(q) != ix.spec.Dim {
		return nil, invalid("query vector has dimension %d, index %q has dimension %d", len(q), name, ix.spec.Dim)
	}
	if err := checkVector(ix.metric, q); err != nil {
		return nil, invalid("query %v", err)
	}
	f, err := compileFilter(req.Filter)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return ix.search(q, req.K, req.Ef, f)
}
