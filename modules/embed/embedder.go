package embed

import "context"

// Embedder turns texts into vectors. Every provider (builtin, ollama,
// openai) implements it, and the embed module provides the configured one
// (wrapped in the LRU cache) to other modules as embed.Embedder.
type Embedder interface {
	// Model names the model, e.g. "use-lite-512" or "nomic-embed-text".
	Model() string
	// Dimension is the length of every vector EmbedBatch returns.
	Dimension() int
	// EmbedBatch embeds texts in order; len(result) == len(texts).
	EmbedBatch(ctx context.Context, texts []string) ([][]float32, error)
}
