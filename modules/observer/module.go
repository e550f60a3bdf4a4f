package observer

import (
	"context"

	"lakehouse/app"
)

// Module is the observer module. STUB: being written.
type Module struct{}

var _ app.Module = (*Module)(nil)

// New returns the observer module.
func New() *Module { return &Module{} }

// Name implements app.Module.
func (m *Module) Name() string { return "observer" }

// Deps implements app.Module.
func (m *Module) Deps() []string { return []string{"storage"} }

// OptionalDeps implements app.OptionalDepender.
func (m *Module) OptionalDeps() []string {
	return []string{"catalog", "query", "embed", "vector", "pathway"}
}

// Init implements app.Module.
func (m *Module) Init(ctx context.Context, c *app.Container) error { return nil }
