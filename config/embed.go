package config

// EmbedConfig selects the embedding provider.
type EmbedConfig struct {
	// Provider is builtin, ollama or openai.
	Provider string `toml:"provider"`
	// CacheSize is the LRU cache's entry count; 0 turns it off.
	CacheSize int `toml:"cache_size"`
}

func defaultEmbed() EmbedConfig { return EmbedConfig{Provider: "builtin", CacheSize: 10000} }

// Validate checks the embed section.
func (c *EmbedConfig) Validate() error { return nil }
