package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// EmbedConfig selects the embedding provider and its limits.
type EmbedConfig struct {
	// Provider is builtin (offline, in-process USE-lite, 512-d), ollama or
	// openai (any OpenAI-compatible /v1/embeddings endpoint).
	Provider string `toml:"provider"`
	// CacheSize is the LRU cache's entry count; 0 turns it off.
	CacheSize int `toml:"cache_size"`
	// DiskCacheBytes bounds the embeddings kept on the node's disk
	// (<data_dir>/embed/cache), so a restart or a new index over the same
	// texts asks the model only for new ones; 0 turns it off.
	DiskCacheBytes ByteSize `toml:"disk_cache_bytes"`
	// MaxTexts caps the texts of one POST /v1/embed (more → 413).
	MaxTexts int `toml:"max_texts"`
	// BatchSize is how many texts go to the provider in one call.
	BatchSize int `toml:"batch_size"`
	// Timeout bounds one provider batch (remote providers).
	Timeout Duration `toml:"timeout"`
	// Retries is how many times a remote batch is retried on 5xx or a
	// connection error, with exponential backoff from RetryBackoff.
	Retries int `toml:"retries"`
	// RetryBackoff is the first retry's delay; each later retry doubles it.
	RetryBackoff Duration `toml:"retry_backoff"`
	// Ollama configures provider = "ollama".
	Ollama OllamaConfig `toml:"ollama"`
	// OpenAI configures provider = "openai".
	OpenAI OpenAIConfig `toml:"openai"`
}

// OllamaConfig is an Ollama server's /api/embed.
type OllamaConfig struct {
	// BaseURL is the Ollama server; the provider POSTs {base_url}/api/embed.
	BaseURL string `toml:"base_url"`
	// Model is the Ollama model name (it must be pulled on that server).
	Model string `toml:"model"`
	// Dimension of the model's vectors; 0 learns it from the first answer.
	Dimension int `toml:"dimension"`
	// DocumentPrefix and QueryPrefix are prepended to texts embedded as
	// documents or as search queries (nomic-embed-text wants
	// "search_document: " and "search_query: "); empty = none.
	DocumentPrefix string `toml:"document_prefix"`
	// QueryPrefix is prepended to search queries (see DocumentPrefix).
	QueryPrefix string `toml:"query_prefix"`
}

// OpenAIConfig is an OpenAI-compatible /v1/embeddings endpoint (OpenAI,
// vLLM, llama.cpp server, TEI, LM Studio).
type OpenAIConfig struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// http://127.0.0.1:8000/v1; the provider POSTs {base_url}/embeddings.
	BaseURL string `toml:"base_url"`
	// Model is the embedding model the endpoint serves.
	Model string `toml:"model"`
	// APIKey wins over the environment variable named by APIKeyEnv.
	APIKey string `toml:"api_key"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `toml:"api_key_env"`
	// Dimension of the model's vectors; 0 learns it from the first answer.
	Dimension int `toml:"dimension"`
	// DocumentPrefix is prepended to texts embedded as documents; empty = none.
	DocumentPrefix string `toml:"document_prefix"`
	// QueryPrefix is prepended to search queries; empty = none.
	QueryPrefix string `toml:"query_prefix"`
}

func defaultEmbed() EmbedConfig {
	return EmbedConfig{
		Provider:       "builtin",
		CacheSize:      10000,
		DiskCacheBytes: 256 << 20,
		MaxTexts:       512,
		BatchSize:      64,
		Timeout:        Duration(60 * time.Second),
		Retries:        3,
		RetryBackoff:   Duration(250 * time.Millisecond),
		Ollama: OllamaConfig{
			BaseURL:   "http://127.0.0.1:11434",
			Model:     "nomic-embed-text",
			Dimension: 768,
		},
		OpenAI: OpenAIConfig{
			BaseURL:   "https://api.openai.com/v1",
			Model:     "text-embedding-3-small",
			APIKeyEnv: "OPENAI_API_KEY",
		},
	}
}

// Validate checks the embed section.
func (c *EmbedConfig) Validate() error {
	var errs []error
	switch c.Provider {
	case "builtin":
	case "ollama":
		errs = append(errs, checkBaseURL("ollama.base_url", c.Ollama.BaseURL))
		if c.Ollama.Model == "" {
			errs = append(errs, errors.New("ollama.model: required when provider = \"ollama\""))
		}
	case "openai":
		errs = append(errs, checkBaseURL("openai.base_url", c.OpenAI.BaseURL))
		if c.OpenAI.Model == "" {
			errs = append(errs, errors.New("openai.model: required when provider = \"openai\""))
		}
	default:
		errs = append(errs, fmt.Errorf("provider: %q is not builtin, ollama or openai", c.Provider))
	}
	if c.CacheSize < 0 {
		errs = append(errs, errors.New("cache_size: must be ≥ 0 (0 = off)"))
	}
	if c.DiskCacheBytes < 0 {
		errs = append(errs, errors.New("disk_cache_bytes: must be ≥ 0 (0 = off)"))
	}
	if c.MaxTexts < 1 {
		errs = append(errs, errors.New("max_texts: must be ≥ 1"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, errors.New("batch_size: must be ≥ 1"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be > 0"))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, errors.New("retries: must be 0..10"))
	}
	if c.Ollama.Dimension < 0 || c.OpenAI.Dimension < 0 {
		errs = append(errs, errors.New("dimension: must be ≥ 0 (0 = learn from the first answer)"))
	}
	return errors.Join(errs...)
}

func checkBaseURL(key, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL", key, s)
	}
	return nil
}
