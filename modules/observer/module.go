package observer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"lakehouse/config"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Recorder is the observer's interface for other modules (MCP reports its
// tool calls with source "mcp"): Record adds one event and returns it with
// its id. It never fails and never blocks on I/O.
type Recorder interface {
	Record(ev Event) Event
}

// Module is the observer module: the audit witness behind every write, an
// event ring with JSONL persistence and a SQL-visible Parquet copy.
// Workflows are the workflow module's (it records its node rows here).
type Module struct {
	cfg  config.ObserverConfig
	log  *slog.Logger
	obs  *Observer
	pers *persister       // nil when persistence is off
	pq   *parquetExporter // nil until Start finds a catalog
	c    *kit.Container

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ kit.Module           = (*Module)(nil)
	_ kit.OptionalDepender = (*Module)(nil)
	_ kit.Router           = (*Module)(nil)
	_ kit.Starter          = (*Module)(nil)
	_ kit.Stopper          = (*Module)(nil)
	_ kit.Checker          = (*Module)(nil)
	_ Recorder             = (*Observer)(nil)
)

// New returns the observer module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "observer" }

// ConfigSection implements kit.Configured: the [observer] section.
func (m *Module) ConfigSection() string { return "observer" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"storage"} }

// OptionalDeps implements kit.OptionalDepender: the catalog receives the
// Parquet copy of the events when it runs.
func (m *Module) OptionalDeps() []string { return []string{"catalog"} }

// Init builds the ring, replays persisted events, and provides the
// observer as the process's kit.AuditSink (and as observer.Recorder).
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	m.c = c
	m.cfg = c.Config().Observer
	m.log = c.Logger("observer")
	store, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	m.obs = NewObserver(m.cfg.RingSize, int64(m.cfg.RingMaxBytes), m.log)
	if m.cfg.Persist {
		m.pers = newPersister(store, m.obs, m.log, m.cfg.FlushEvents, m.cfg.MaxPending, m.cfg.CompactSegments)
		r, err := m.pers.replay(ctx, m.cfg.RingSize)
		if err != nil {
			return fmt.Errorf("observer: replay: %w", err)
		}
		m.obs.restore(r.counts, r.ring, r.lastID+1)
		m.obs.onRecord(m.pers.enqueue)
		m.log.Info("observer replayed", "events", r.counts.Total, "ring", len(r.ring), "last_id", r.lastID)
	}
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return err
	}
	if err := m.registerMetrics(reg); err != nil {
		return fmt.Errorf("observer: metrics: %w", err)
	}
	kit.Provide[kit.AuditSink](c, m.obs)
	kit.Provide[Recorder](c, m.obs)
	kit.Provide[Redactor](c, m)
	return nil
}

// Observer returns the module's observer (tests and embedding programs).
func (m *Module) Observer() *Observer { return m.obs }

// Start launches the flusher and, when the catalog runs, the Parquet
// exporter.
func (m *Module) Start(ctx context.Context) error {
	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	// The exporter's backfill reads segments, so it runs before the
	// flusher (whose compaction may delete them) starts.
	if err := m.startParquet(ctx, bg); err != nil {
		cancel()
		return err
	}
	if m.pers != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.pers.run(bg, m.cfg.FlushInterval.D())
		}()
	}
	return nil
}

// Stop stops the background loops, then flushes what is pending so a
// clean stop loses nothing (the workflow module, stopped first, has
// recorded its cancelled nodes by then).
func (m *Module) Stop(ctx context.Context) error {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	var errs []error
	if m.pers != nil {
		if err := m.pers.flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.pq != nil {
		if err := m.pq.export(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check reports a persistence backend that keeps failing.
func (m *Module) Check(ctx context.Context) error {
	if m.pers == nil {
		return nil
	}
	if st := m.pers.status(); st.LastError != "" {
		return fmt.Errorf("event persistence failing (%d events held in memory): %s (check storage)", st.Pending, st.LastError)
	}
	return nil
}

// Flush writes pending events to their segment and the Parquet dataset
// now (POST /v1/observer/flush, tests, shutdown).
func (m *Module) Flush(ctx context.Context) error {
	var errs []error
	if m.pers != nil {
		errs = append(errs, m.pers.flush(ctx))
	}
	if m.pq != nil {
		errs = append(errs, m.pq.export(ctx))
	}
	return errors.Join(errs...)
}
