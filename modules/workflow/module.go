// Package workflow is the workflow module: it runs DAGs of sql, embed,
// vector and pathway nodes POSTed to /v1/observer/workflow/run, recording
// one audit row per node in the observer as each finishes. It used to live
// inside the observer; as a module of its own it declares what it calls,
// so --modules and /ready say whether workflows can run.
package workflow

import (
	"context"
	"fmt"
	"log/slog"

	"lakehouse/config"
	"lakehouse/modules/kit"
	"lakehouse/modules/observer"
)

// Module is the workflow module.
type Module struct {
	cfg config.WorkflowConfig
	// maxDepth is observer.max_json_depth: a run's inputs are copied into
	// audit rows, which must decode again at replay.
	maxDepth int
	log      *slog.Logger
	runner   *Runner
}

var (
	_ kit.Module           = (*Module)(nil)
	_ kit.OptionalDepender = (*Module)(nil)
	_ kit.Router           = (*Module)(nil)
	_ kit.Guest            = (*Module)(nil)
	_ kit.Stopper          = (*Module)(nil)
	_ kit.Documented       = (*Module)(nil)
)

// New returns the workflow module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "workflow" }

// RoutePrefix implements kit.Prefixed: runs live at
// /v1/observer/workflow, the paths clients (and the UI) already use.
func (m *Module) RoutePrefix() string { return "observer/workflow" }

// HostModule implements kit.Guest: the prefix is inside the observer's.
func (m *Module) HostModule() string { return "observer" }

// ConfigSection implements kit.Configured: [workflow] (the keys used to
// be in [observer]; a file that still sets them there is read, with a
// warning).
func (m *Module) ConfigSection() string { return "workflow" }

// Deps implements kit.Module: every node's row is recorded in the observer.
func (m *Module) Deps() []string { return []string{"observer"} }

// OptionalDeps implements kit.OptionalDepender: the built-in modes call
// these when they run; a node whose module is absent fails saying so.
func (m *Module) OptionalDeps() []string { return []string{"embed", "pathway", "query", "vector"} }

// Init builds the runner and its built-in modes.
func (m *Module) Init(_ context.Context, c *kit.Container) error {
	rec, err := kit.Resolve[observer.Recorder](c)
	if err != nil {
		return err
	}
	m.cfg = c.Config().Workflow
	m.maxDepth = c.Config().Observer.MaxJSONDepth
	m.log = c.Logger("workflow")
	m.runner = NewRunner(rec, m.cfg, m.log)
	registerServiceModes(m.runner, c)
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return err
	}
	if err := registerMetrics(reg, m.runner); err != nil {
		return fmt.Errorf("workflow: metrics: %w", err)
	}
	kit.Provide(c, m.runner)
	return nil
}

// Runner returns the module's workflow runner, e.g. to register a mode.
func (m *Module) Runner() *Runner { return m.runner }

// Stop cancels running workflows and waits for them, before the observer
// (stopped after it) flushes their rows.
func (m *Module) Stop(context.Context) error {
	if m.runner != nil {
		m.runner.Close()
	}
	return nil
}
