package vector

import (
	"context"
	"fmt"
	"time"

	"lakehouse/modules/embed"
)

// Search implements Service.
func (s *service) Search(ctx context.Context, name string, req SearchRequest) ([]Result, error) {
	resp, err := s.Query(ctx, name, req)
	return resp.Results, err
}

// Query is Search with the whole answer (facets too). Other modules reach
// it through the Querier interface. Every search is counted on /metrics,
// whoever calls it.
func (s *service) Query(ctx context.Context, name string, req SearchRequest) (SearchResponse, error) {
	start := time.Now()
	resp, vecPlan, err := s.query(ctx, name, req)
	s.met.search(req.Mode, start, vecPlan, err)
	return resp, err
}

// query is Query, also saying which plan the vector side took.
func (s *service) query(ctx context.Context, name string, req SearchRequest) (SearchResponse, string, error) {
	ix, err := s.get(name)
	if err != nil {
		return SearchResponse{}, "", err
	}
	if req.K == 0 {
		req.K = defaultK
	}
	if req.K < 0 || req.K > s.cfg.MaxK {
		return SearchResponse{}, "", invalid("k must be in [1, %d] (vector.max_k), got %d", s.cfg.MaxK, req.K)
	}
	if req.Ef < 0 || req.Ef > s.cfg.MaxEf {
		return SearchResponse{}, "", invalid("ef must be in [0, %d] (vector.max_ef; 0 = the index's ef_search), got %d", s.cfg.MaxEf, req.Ef)
	}
	p, err := parseMode(req, s.cfg.MaxK)
	if err != nil {
		return SearchResponse{}, "", err
	}
	if p.f, err = compileFilter(req.Filter); err != nil {
		return SearchResponse{}, "", invalid("%v", err)
	}
	// The vector side needs a query vector: given, or the text embedded.
	// Keyword mode uses a given vector only to report distances.
	q := req.Vector
	if q == nil && req.Text != "" && p.mode != ModeKeyword {
		if q, err = s.embedQuery(ctx, ix, req.Text); err != nil {
			return SearchResponse{}, "", err
		}
	}
	if q == nil && p.mode != ModeKeyword {
		return SearchResponse{}, "", invalid("vector (or text) is required")
	}
	if q != nil {
		if len(q) != ix.spec.Dim {
			return SearchResponse{}, "", invalid("query vector has dimension %d, index %q has dimension %d", len(q), name, ix.spec.Dim)
		}
		if err := checkVector(ix.metric, q); err != nil {
			return SearchResponse{}, "", invalid("query %v", err)
		}
	}
	p.q = q
	return ix.query(p)
}

// embedQuery embeds a search text with the index's model.
func (s *service) embedQuery(ctx context.Context, ix *index, text string) ([]float32, error) {
	if _, err := s.checkModel(ix); err != nil {
		return nil, err
	}
	// Search text is a query: asymmetric models (nomic under Ollama)
	// get their query prefix rather than the document one.
	vecs, err := s.emb.EmbedBatch(embed.WithPurpose(ctx, embed.Query), []string{text})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEmbed, err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("%w: %w: embedder returned %d vectors for 1 text", ErrEmbed, embed.ErrBadResponse, len(vecs))
	}
	return vecs[0], nil
}
