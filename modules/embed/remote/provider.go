package remote

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Provider is what the HTTP embedding providers share: the model name, a
// dimension learned from the first answer when none is configured, the
// document/query prefixes, batching, and errors prefixed with the
// provider's name. A provider embeds it and sets Call to its wire call.
type Provider struct {
	// Name prefixes errors ("ollama", "openai").
	Name string
	// ModelName is the model the endpoint serves.
	ModelName string
	// DocPrefix and QueryPrefix are prepended by purpose (see WithPurpose).
	DocPrefix, QueryPrefix string
	// BatchSize is the most texts one Call receives.
	BatchSize int
	// Call sends one batch and returns its vectors in order.
	Call func(ctx context.Context, texts []string) ([][]float32, error)

	dimension atomic.Int64
}

// SetDimension sets the configured dimension (0 = learn it from the first answer).
func (p *Provider) SetDimension(d int) { p.dimension.Store(int64(d)) }

// Model implements embed.Embedder.
func (p *Provider) Model() string { return p.ModelName }

// Dimension implements embed.Embedder (0 until learned when unset).
func (p *Provider) Dimension() int { return int(p.dimension.Load()) }

// EmbedBatch implements embed.Embedder.
func (p *Provider) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	texts = Prefix(ctx, texts, p.DocPrefix, p.QueryPrefix)
	vecs, dim, err := Batches(ctx, texts, p.BatchSize, p.Dimension(), p.Call)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Name, p.ModelName, err)
	}
	p.dimension.CompareAndSwap(0, int64(dim))
	return vecs, nil
}
