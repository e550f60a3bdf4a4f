// Package openai is the embedding provider for any OpenAI-compatible
// POST {base_url}/embeddings (OpenAI, vLLM, llama.cpp server, TEI,
// LM Studio). The API key comes from config or the environment.
package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	"lakehouse/config"
	"lakehouse/modules/embed/remote"
)

// Provider embeds through an OpenAI-compatible endpoint. It implements
// embed.Embedder.
type Provider struct {
	remote.Provider
	cfg    config.OpenAIConfig
	url    string
	key    string
	client *remote.Client
}

// New returns a provider for the [embed.openai] settings; the key is
// api_key, else the variable named by api_key_env (read once, here).
func New(ec config.EmbedConfig, hc *http.Client) *Provider {
	key := ec.OpenAI.APIKey
	if key == "" && ec.OpenAI.APIKeyEnv != "" {
		key = os.Getenv(ec.OpenAI.APIKeyEnv)
	}
	p := &Provider{
		cfg: ec.OpenAI,
		url: strings.TrimRight(ec.OpenAI.BaseURL, "/") + "/embeddings",
		key: key,
		client: &remote.Client{HTTP: hc, Timeout: ec.Timeout.D(), Retries: ec.Retries,
			Backoff: ec.RetryBackoff.D()},
	}
	p.Provider = remote.Provider{Name: "openai", ModelName: ec.OpenAI.Model, BatchSize: ec.BatchSize,
		DocPrefix: ec.OpenAI.DocumentPrefix, QueryPrefix: ec.OpenAI.QueryPrefix, Call: p.call}
	p.SetDimension(ec.OpenAI.Dimension)
	return p
}

// request and response are the OpenAI embeddings API's shapes.
type request struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type response struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
}

func (p *Provider) call(ctx context.Context, texts []string) ([][]float32, error) {
	h := http.Header{}
	if p.key != "" {
		h.Set("Authorization", "Bearer "+p.key)
	}
	var out response
	err := p.client.PostJSON(ctx, p.url, h, request{Model: p.cfg.Model, Input: texts, EncodingFormat: "float"}, &out)
	var se *remote.StatusError
	if errors.As(err, &se) {
		switch {
		case se.Status == http.StatusNotFound || strings.Contains(se.Body, "model_not_found"):
			return nil, fmt.Errorf("%w: model %q is not served by %s: %s", remote.ErrUnknownModel, p.cfg.Model, p.cfg.BaseURL, se.Body)
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
			return nil, fmt.Errorf("%w: %s rejected the API key (set %s or embed.openai.api_key): %s",
				remote.ErrUnavailable, p.cfg.BaseURL, p.cfg.APIKeyEnv, se.Body)
		}
	}
	if err != nil {
		return nil, err
	}
	// The API may answer out of order; each item names its input index.
	sort.Slice(out.Data, func(i, j int) bool { return out.Data[i].Index < out.Data[j].Index })
	vecs := make([][]float32, len(out.Data))
	for i, d := range out.Data {
		if d.Index != i {
			return nil, fmt.Errorf("%w: indexes are not 0..%d", remote.ErrBadResponse, len(texts)-1)
		}
		vecs[i] = d.Embedding
	}
	return vecs, nil
}
