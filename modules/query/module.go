package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Module is the query module: its own locked-down in-memory DuckDB with a
// view per dataset version, POST /v1/sql, and the Querier other modules use.
type Module struct {
	log   *slog.Logger
	svc   *Service
	cache *partCache // nil with local storage
}

var (
	_ kit.Module  = (*Module)(nil)
	_ kit.Router  = (*Module)(nil)
	_ kit.Stopper = (*Module)(nil)
	_ kit.Checker = (*Module)(nil)
)

// New returns the query module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "query" }

// ConfigSection implements kit.Configured: the [query] section.
func (m *Module) ConfigSection() string { return "query" }

// RoutePrefix implements kit.Prefixed: routes live under /v1/sql.
func (m *Module) RoutePrefix() string { return "sql" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"catalog", "storage"} }

// Init opens the engine, builds the views of every dataset and watches the
// catalog for new versions; it provides Querier.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	cfg := c.Config()
	m.log = c.Logger("query")
	cat, err := kit.Resolve[catalog.Catalog](c)
	if err != nil {
		return err
	}
	store, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	svc, err := Open(ctx, Config{
		Query:   cfg.Query,
		DataDir: cfg.DataDir,
		Store:   store,
		Catalog: cat,
		Log:     m.log,
	})
	if err != nil {
		return err
	}
	m.svc, m.cache = svc, svc.cache
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return errors.Join(err, svc.Close())
	}
	if svc.metrics, err = newMetrics(reg); err != nil {
		return errors.Join(fmt.Errorf("query: metrics: %w", err), svc.Close())
	}
	kit.Provide[Querier](c, svc)
	kit.Provide[Reachability](c, svc)
	return nil
}

// Stop closes the engine.
func (m *Module) Stop(context.Context) error {
	if m.svc == nil {
		return nil
	}
	return m.svc.Close()
}

// Check runs a trivial query through the pool.
func (m *Module) Check(ctx context.Context) error {
	if _, err := m.svc.Query(ctx, "SELECT 1", nil, 1); err != nil {
		return fmt.Errorf("query engine not answering: %w", err)
	}
	return nil
}

// cacheDir is where the S3 part cache lives.
func cacheDir(dataDir string) string { return filepath.Join(dataDir, "query", "cache") }
