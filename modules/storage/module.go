package storage

import (
	"context"
	"fmt"
	"path/filepath"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// Module is the storage module: it builds the configured backend and
// publishes it as a Store.
type Module struct {
	c     *kit.Container
	cfg   config.StorageConfig
	store Store
	lim   *limiter
}

var (
	_ kit.Module  = (*Module)(nil)
	_ kit.Router  = (*Module)(nil)
	_ kit.Checker = (*Module)(nil)
)

// New returns the storage module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "storage" }

// ConfigSection implements kit.Configured: the [storage] section.
func (m *Module) ConfigSection() string { return "storage" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return nil }

// Init opens the backend and provides it as storage.Store.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	cfg := c.Config()
	m.c = c
	m.cfg = cfg.Storage
	st, err := Open(ctx, cfg.Storage, cfg.DataDir)
	if err != nil {
		return err
	}
	m.store = st
	m.lim = newLimiter(cfg.Storage.MaxConcurrentPuts, cfg.Storage.MaxConcurrentGets)
	kit.Provide[Store](c, st)
	return nil
}

// Open builds the backend the config names.
func Open(ctx context.Context, cfg config.StorageConfig, dataDir string) (Store, error) {
	switch cfg.Backend {
	case "s3":
		return OpenS3(ctx, cfg.S3)
	default:
		file, dir := cfg.Modes()
		return OpenLocal(filepath.Join(dataDir, "objects"), WithModes(file, dir))
	}
}

// Check lists one key to prove the backend answers.
func (m *Module) Check(ctx context.Context) error {
	if _, err := m.store.List(ctx, "", "", 1); err != nil {
		if m.cfg.Backend == "s3" {
			return fmt.Errorf("s3 %s bucket %q unreachable: %w (check [storage.s3] endpoint, credentials, and create_bucket = true)",
				m.cfg.S3.Endpoint, m.cfg.S3.Bucket, err)
		}
		return fmt.Errorf("local store unreadable: %w (check data_dir permissions)", err)
	}
	return nil
}
