// Package ollama is the embedding provider for an Ollama server's
// POST /api/embed (batched input, e.g. nomic-embed-text, 768-d).
package ollama

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"lakehouse/config"
	"lakehouse/modules/embed/remote"
)

// Provider embeds through Ollama. It implements embed.Embedder.
type Provider struct {
	remote.Provider
	cfg    config.OllamaConfig
	url    string
	client *remote.Client
}

// New returns a provider for the [embed.ollama] settings.
func New(ec config.EmbedConfig, hc *http.Client) *Provider {
	p := &Provider{
		cfg: ec.Ollama,
		url: strings.TrimRight(ec.Ollama.BaseURL, "/") + "/api/embed",
		client: &remote.Client{HTTP: hc, Timeout: ec.Timeout.D(), Retries: ec.Retries,
			Backoff: ec.RetryBackoff.D()},
	}
	p.Provider = remote.Provider{Name: "ollama", ModelName: ec.Ollama.Model, BatchSize: ec.BatchSize,
		DocPrefix: ec.Ollama.DocumentPrefix, QueryPrefix: ec.Ollama.QueryPrefix, Call: p.call}
	p.SetDimension(ec.Ollama.Dimension)
	return p
}

// request and response are Ollama's documented /api/embed shapes.
type request struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type response struct {
	Model      string      `json:"model"`
	Embeddings [][]float32 `json:"embeddings"`
}

func (p *Provider) call(ctx context.Context, texts []string) ([][]float32, error) {
	var out response
	err := p.client.PostJSON(ctx, p.url, nil, request{Model: p.cfg.Model, Input: texts}, &out)
	var se *remote.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		// Ollama answers 404 {"error":"model \"x\" not found, try pulling it first"}.
		return nil, fmt.Errorf("%w: model %q is not pulled on %s (run `ollama pull %s`): %s",
			remote.ErrUnknownModel, p.cfg.Model, p.cfg.BaseURL, p.cfg.Model, se.Body)
	}
	if err != nil {
		return nil, err
	}
	return out.Embeddings, nil
}
