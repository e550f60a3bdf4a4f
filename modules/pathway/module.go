package pathway

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lakehouse/config"
	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector"
)

// Module is the pathway module: trace memory over a durable JSONL log,
// published as a Store, with semantic search when embed and vector run.
type Module struct {
	cfg config.PathwayConfig
	log *slog.Logger
	svc *Service
	c   *kit.Container
}

var (
	_ kit.Module           = (*Module)(nil)
	_ kit.OptionalDepender = (*Module)(nil)
	_ kit.Router           = (*Module)(nil)
	_ kit.Starter          = (*Module)(nil)
	_ kit.Stopper          = (*Module)(nil)
	_ kit.Checker          = (*Module)(nil)
)

// New returns the pathway module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "pathway" }

// ConfigSection implements kit.Configured: the [pathway] section.
func (m *Module) ConfigSection() string { return "pathway" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{} }

// OptionalDeps implements kit.OptionalDepender: embed and vector for
// semantic search, storage for the log itself with an object-store
// backend.
func (m *Module) OptionalDeps() []string { return []string{"embed", "vector", "storage"} }

// LogPath resolves the configured log file against the data dir.
func LogPath(cfg *config.Config) string {
	if filepath.IsAbs(cfg.Pathway.Log) {
		return cfg.Pathway.Log
	}
	return filepath.Join(cfg.DataDir, cfg.Pathway.Log)
}

// UsesBucket reports whether the log lives in the bucket (an object-store
// backend) rather than in the local file.
func UsesBucket(cfg *config.Config) bool { return cfg.Storage.Backend == "s3" }

// Init replays the log and provides the Store. With an object-store
// backend the log lives in the bucket (see remote.go): a node on a new
// data dir rebuilds everything acknowledged from it.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	cfg := c.Config()
	m.cfg, m.log, m.c = cfg.Pathway, c.Logger("pathway"), c
	opts := Options{CompactBytes: int64(cfg.Pathway.CompactBytes), Logger: m.log, MaxJSONDepth: cfg.Pathway.MaxJSONDepth}
	if UsesBucket(cfg) {
		st, ok := kit.Lookup[storage.Store](c)
		if !ok || st == nil {
			return fmt.Errorf("pathway: storage.backend is %q but the storage module is not running; enable it (the log lives in the bucket)", cfg.Storage.Backend)
		}
		opts.Remote = st
	}
	svc, err := OpenContext(ctx, LogPath(cfg), opts)
	if err != nil {
		return err
	}
	m.svc = svc
	rs := svc.ReplayStats()
	st, _ := svc.Stats(ctx)
	m.log.Info("pathway: log replayed", "path", svc.Path(), "source", svc.ReplaySource(), "traces", st.Total, "lines", rs.Lines,
		"corrupted", rs.Corrupted, "apply_errors", rs.ApplyErrors)
	kit.Provide[Store](c, svc)
	return nil
}

// Start turns on semantic search when embed and vector are running (they
// start before pathway); without them, or if the index cannot be set up,
// search ranks lexically.
func (m *Module) Start(ctx context.Context) error {
	if !m.cfg.Semantic {
		return nil
	}
	emb, okE := kit.Lookup[embed.Embedder](m.c)
	vec, okV := kit.Lookup[vector.Service](m.c)
	if !okE || !okV || emb == nil || vec == nil {
		m.log.Info("pathway: embed or vector not running; search ranks lexically")
		return nil
	}
	if err := m.svc.EnableSemantic(ctx, emb, vec, m.cfg.VectorIndex); err != nil {
		m.log.Warn("pathway: semantic search unavailable; search ranks lexically", "err", err)
	}
	return nil
}

// Stop drains and closes the log.
func (m *Module) Stop(ctx context.Context) error {
	if m.svc == nil {
		return nil
	}
	return m.svc.Close()
}

// Check fails when the log can no longer be written.
func (m *Module) Check(ctx context.Context) error {
	if err := m.svc.p.usable(); err != nil {
		if m.svc.p.ship != nil {
			return fmt.Errorf("%w (restart the process; the bucket is the truth)", err)
		}
		return fmt.Errorf("%w (restart the process; the log on disk is the truth)", err)
	}
	return nil
}
