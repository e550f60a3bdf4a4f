package embed

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"lakehouse/config"
	"lakehouse/modules/embed/builtin"
	"lakehouse/modules/embed/ollama"
	"lakehouse/modules/embed/openai"
	"lakehouse/modules/kit"
)

// Module is the embed module: it builds the configured provider, wraps it
// in the LRU cache, provides it as embed.Embedder, and serves /v1/embed
// plus the dataset → vector index pipeline.
type Module struct {
	cfg      config.EmbedConfig
	log      *slog.Logger
	c        *kit.Container
	provider Embedder // the configured provider, uncached
	cache    *LRU
	disk     *DiskCache // nil when embed.disk_cache_bytes is 0
	cached   *Cached
	hc       *http.Client
}

var (
	_ kit.Module  = (*Module)(nil)
	_ kit.Router  = (*Module)(nil)
	_ kit.Checker = (*Module)(nil)
	_ kit.Stopper = (*Module)(nil)
)

// Stop implements kit.Stopper: the disk cache's files are closed.
func (m *Module) Stop(context.Context) error { return m.disk.Close() }

// New returns the embed module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "embed" }

// ConfigSection implements kit.Configured: the [embed] section.
func (m *Module) ConfigSection() string { return "embed" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{} }

// Init implements kit.Module.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	m.c = c
	m.cfg = c.Config().Embed
	m.log = c.Logger("embed")
	m.hc = &http.Client{}
	p, err := newProvider(m.cfg, m.hc)
	if err != nil {
		return err
	}
	m.provider = p
	m.cache = NewLRU(m.cfg.CacheSize)
	if m.cfg.DiskCacheBytes > 0 {
		dir := filepath.Join(c.Config().DataDir, "embed", "cache")
		if m.disk, err = OpenDiskCache(dir, int64(m.cfg.DiskCacheBytes)); err != nil {
			return err
		}
	}
	m.cached = NewCached(p, m.cache).WithDisk(m.disk)
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return err
	}
	if err := m.registerMetrics(reg); err != nil {
		return fmt.Errorf("embed: metrics: %w", err)
	}
	if b, ok := p.(*builtin.Encoder); ok {
		if err := b.Present(); err != nil {
			// Not fatal: the rest of the server works; embedding answers
			// 502 with this message and /ready reports it.
			m.log.Warn("builtin embedder unavailable", "err", err)
		}
	}
	kit.Provide[Embedder](c, m.cached)
	kit.Provide[CachePurger](c, m.cached)
	return nil
}

// newProvider builds the configured provider.
func newProvider(cfg config.EmbedConfig, hc *http.Client) (Embedder, error) {
	switch cfg.Provider {
	case "", "builtin":
		return builtin.New(), nil
	case "ollama":
		return ollama.New(cfg, hc), nil
	case "openai":
		return openai.New(cfg, hc), nil
	}
	return nil, fmt.Errorf("embed: unknown provider %q (builtin, ollama, openai)", cfg.Provider)
}

// forModel returns the cached embedder for a request's "model": the
// configured one when empty or equal; for remote providers another model
// of the same server; for builtin an unknown model (502).
func (m *Module) forModel(model string) (Embedder, error) {
	if model == "" || model == m.provider.Model() {
		return m.cached, nil
	}
	switch m.cfg.Provider {
	case "ollama":
		cfg := m.cfg
		cfg.Ollama.Model, cfg.Ollama.Dimension = model, 0
		return NewCached(ollama.New(cfg, m.hc), m.cache).WithDisk(m.disk), nil
	case "openai":
		cfg := m.cfg
		cfg.OpenAI.Model, cfg.OpenAI.Dimension = model, 0
		return NewCached(openai.New(cfg, m.hc), m.cache).WithDisk(m.disk), nil
	}
	return nil, fmt.Errorf("%w: %q (the builtin provider serves %q only)", ErrUnknownModel, model, m.provider.Model())
}

// Check implements kit.Checker: the builtin model must be embedded;
// remote providers are not probed (a remote outage is a 502 per request,
// not a reason to take the whole server out of rotation).
func (m *Module) Check(ctx context.Context) error {
	if b, ok := m.provider.(*builtin.Encoder); ok {
		return b.Present()
	}
	return nil
}

// Stats returns the cache counters (GET /v1/embed/stats).
func (m *Module) Stats() CacheStats { return m.cache.Stats() }
