package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/catalog/iceberg"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Module is the catalog module: it opens and migrates the metadata
// database, mirrors manifests to storage and serves /v1/catalog.
type Module struct {
	store *Store
	cfg   *config.Config
}

var (
	_ kit.Module     = (*Module)(nil)
	_ kit.Router     = (*Module)(nil)
	_ kit.RootRouter = (*Module)(nil)
	_ kit.Stopper    = (*Module)(nil)
	_ kit.Starter    = (*Module)(nil)
	_ kit.Checker    = (*Module)(nil)
)

// New returns the catalog module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "catalog" }

// ConfigSection implements kit.Configured: the [catalog] section.
func (m *Module) ConfigSection() string { return "catalog" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"storage"} }

// Init opens the metadata database, applies migrations (before the server
// listens), repairs missing manifest objects and publishes Catalog and
// MetaDB.
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	objects, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	st, err := Open(ctx, MetaDBPath(c.Config()), objects, c.Logger("catalog"), Options(c.Config())...)
	if err != nil {
		return err
	}
	m.store, m.cfg = st, c.Config()
	// The observer's audit dataset is reserved here, from the config,
	// rather than by the observer at its own Init: a process that serves
	// only some modules must still refuse a forged audit trail.
	if name := c.Config().Observer.Dataset; name != "" {
		st.Reserve(name, ObserverOwner)
	}
	kit.Provide[Catalog](c, st)
	kit.Provide[MetaDB](c, st)
	kit.Provide[storage.ReferenceChecker](c, st)
	if reg, ok := kit.Lookup[*kit.Metrics](c); ok {
		if err := registerMetrics(reg, st); err != nil {
			return err
		}
	}
	return nil
}

// Start begins the background maintenance (retention by age, compaction,
// removal of unreferenced files).
func (m *Module) Start(context.Context) error {
	m.store.StartMaintenance(MaintenanceConfig(m.cfg))
	return nil
}

// MaintenanceConfig is the maintenance the configuration asks for.
func MaintenanceConfig(cfg *config.Config) MaintenanceOptions {
	mc := cfg.Catalog.Maintenance
	return MaintenanceOptions{Interval: mc.Interval.D(), Grace: mc.Grace.D(), CompactMinParts: mc.CompactMinParts,
		TargetPartBytes: int64(mc.TargetPartSize), TempDir: filepath.Join(cfg.DataDir, "tmp")}
}

// RootRoutes serves the read-only Iceberg REST catalog at /iceberg behind
// the auth gate (nothing is mounted when Iceberg is off).
func (m *Module) RootRoutes(e *echo.Echo, gate echo.MiddlewareFunc) {
	ice := m.store.Iceberg()
	if ice == nil {
		return
	}
	g := e.Group("/iceberg", iceberg.SpecErrors(), gate)
	ice.Mount(g, func(ctx context.Context) ([]string, error) {
		ms, err := m.store.List(ctx)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(ms))
		for _, mf := range ms {
			if kit.SeesDataset(ctx, mf.Name) {
				names = append(names, mf.Name)
			}
		}
		return names, nil
	})
}

// ObserverOwner is the owner of the observer's audit dataset
// (config observer.dataset), for RegisterRequest.Owner.
const ObserverOwner = "observer"

// Options returns the Open options the configuration asks for.
func Options(cfg *config.Config) []Option {
	r := cfg.Catalog.Retention
	opts := []Option{
		WithRetention(RetentionPolicy{
			Default:  Retention{KeepVersions: r.KeepVersions, KeepAge: r.KeepAge.D()},
			Internal: Retention{KeepVersions: r.InternalKeepVersions, KeepAge: r.KeepAge.D()},
		}),
		WithMetadataFiles(cfg.Catalog.Maintenance.MetadataFiles),
	}
	if cfg.Catalog.Iceberg.Enabled {
		opts = append(opts, WithIceberg(cfg.Catalog.Iceberg.Namespace))
	}
	return opts
}

// Open opens a migrated catalog on the metadata database at path (used by
// Init and by the offline CLI commands). A catalog with no dataset at all
// over a store that holds manifest objects is a new data dir over an old
// bucket: it rehydrates itself from the bucket (Rebuild). With Iceberg,
// the tables are then brought in step with the catalog (SyncIceberg).
func Open(ctx context.Context, path string, objects storage.Store, log *slog.Logger, opts ...Option) (*Store, error) {
	var o openOptions
	for _, f := range opts {
		f(&o)
	}
	db, err := OpenMigrated(ctx, path)
	if err != nil {
		return nil, err
	}
	st, err := NewStore(ctx, db, objects, log)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	st.path = path
	if err := st.open(ctx, o); err != nil {
		_ = db.Close()
		return nil, err
	}
	return st, nil
}

func (st *Store) open(ctx context.Context, o openOptions) error {
	st.policy = o.retention
	if o.icebergNamespace != "" {
		ice, err := iceberg.New(st.objects, o.icebergNamespace, st.log)
		if err != nil {
			return err
		}
		if o.metadataFiles > 0 {
			ice.SetMetadataFiles(o.metadataFiles)
		}
		st.ice = ice
	}
	empty, err := st.isEmpty(ctx)
	if err != nil {
		return err
	}
	if empty {
		has, err := hasManifests(ctx, st.objects)
		if err != nil {
			return err
		}
		if has {
			rep, err := st.rebuild(ctx)
			if err != nil {
				return fmt.Errorf("catalog: rehydrate from storage: %w", err)
			}
			st.log.Info("catalog: empty metadata database, rehydrated from storage",
				"datasets", rep.Datasets, "versions", rep.Versions, "deleted", rep.Deleted, "skipped", rep.Skipped)
		}
	}
	if n, err := st.syncObjects(ctx); err != nil {
		return err
	} else if n > 0 {
		st.log.Info("catalog: restored missing manifest objects in storage", "count", n)
	}
	if st.ice != nil {
		rep, err := st.SyncIceberg(ctx)
		if err != nil {
			return fmt.Errorf("catalog: bring iceberg tables in step: %w", err)
		}
		st.startSync = rep
		if rep != (IcebergSyncReport{Tables: rep.Tables}) {
			st.log.Info("catalog: iceberg tables synced", "tables", rep.Tables, "snapshots", rep.Snapshots,
				"rolled_back", rep.RolledBack, "rolled_forward", rep.RolledFwd, "dropped", rep.Dropped, "uncommitted", rep.Uncommitted)
		}
	}
	return st.applyRetention(ctx)
}

// applyRetention expires what retention no longer keeps in every live
// dataset: versions a crash let through (adopted after their Iceberg
// commit, which had expired them already) or that aged out while the
// server was down.
func (s *Store) applyRetention(ctx context.Context) error {
	list, err := s.List(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range list {
		if _, err := s.expireNow(ctx, m.Name, false); err != nil {
			return fmt.Errorf("catalog: apply retention to %q at start: %w", m.Name, err)
		}
	}
	return nil
}

// StartSync is what the Iceberg sync at Open changed.
func (s *Store) StartSync() IcebergSyncReport { return s.startSync }

// Close stops the maintenance and closes the metadata database.
func (s *Store) Close() error {
	s.stopMaintenance()
	return s.db.Close()
}

// Stop closes the metadata database.
func (m *Module) Stop(context.Context) error {
	if m.store == nil {
		return nil
	}
	return m.store.Close()
}

// Check proves the metadata database answers.
func (m *Module) Check(ctx context.Context) error {
	if err := m.store.db.PingContext(ctx); err != nil {
		return fmt.Errorf("metadata database unreachable: %w (check catalog.meta_db and disk space)", err)
	}
	return nil
}
