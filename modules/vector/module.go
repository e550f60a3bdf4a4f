package vector

import (
	"context"
	"fmt"
	"path/filepath"

	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Module is the vector module: HNSW indexes persisted through the store
// (snapshot + WAL under _vectors/), served under /v1/vectors and provided
// to other modules as vector.Service.
type Module struct {
	svc      *service
	maxBatch int64
}

var (
	_ kit.Module  = (*Module)(nil)
	_ kit.Router  = (*Module)(nil)
	_ kit.Starter = (*Module)(nil)
	_ kit.Stopper = (*Module)(nil)
	_ kit.Checker = (*Module)(nil)
	_ kit.Warner  = (*Module)(nil)
)

// New returns the vector module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "vector" }

// ConfigSection implements kit.Configured: the [vector] section.
func (m *Module) ConfigSection() string { return "vector" }

// RoutePrefix implements kit.Prefixed: routes live under /v1/vectors.
func (m *Module) RoutePrefix() string { return "vectors" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"storage"} }

// OptionalDeps implements kit.OptionalDepender: with embed present,
// items and queries may be given as text.
func (m *Module) OptionalDeps() []string { return []string{"embed"} }

// Init loads every persisted index (snapshot, then WAL replay) and
// provides the Service.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	st, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	emb, _ := kit.Lookup[embed.Embedder](c)
	cfg := c.Config().Vector
	m.maxBatch = int64(cfg.MaxBatchBytes)
	m.svc = newService(st, emb, cfg, c.Logger("vector"))
	m.svc.rescore.dir = filepath.Join(c.Config().DataDir, rescoreSubdir)
	if err := m.svc.load(ctx); err != nil {
		return fmt.Errorf("vector: %w", err)
	}
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return err
	}
	if err := registerMetrics(reg, m.svc); err != nil {
		return fmt.Errorf("vector: metrics: %w", err)
	}
	kit.Provide[Service](c, m.svc)
	return nil
}

// Start begins time-based compaction.
func (m *Module) Start(context.Context) error {
	m.svc.wg.Add(1)
	go m.svc.run()
	return nil
}

// Stop ends background work and waits for running compactions. Nothing
// needs flushing: every acknowledged batch is already in the store.
func (m *Module) Stop(ctx context.Context) error {
	close(m.svc.stop)
	done := make(chan struct{})
	go func() { m.svc.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("vector: stop: compaction still running: %w", ctx.Err())
	}
}

// Check fails while an index could not be loaded at start-up (its objects
// unreadable, or written by a newer lakehouse); the other indexes serve.
func (m *Module) Check(context.Context) error {
	if err := m.svc.check(); err != nil {
		return fmt.Errorf("vector: %w", err)
	}
	return nil
}

// Warnings implements kit.Warner: the objects start-up quarantined, per
// index. The module is ready meanwhile: everything else was loaded.
func (m *Module) Warnings(context.Context) []string { return m.svc.warnings() }
