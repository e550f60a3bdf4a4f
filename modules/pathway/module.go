package pathway

import (
	"context"

	"lakehouse/app"
)

// Module is the pathway module. STUB: being written.
type Module struct{}

var _ app.Module = (*Module)(nil)

// New returns the pathway module.
func New() *Module { return &Module{} }

// Name implements app.Module.
func (m *Module) Name() string { return "pathway" }

// Deps implements app.Module.
func (m *Module) Deps() []string { return []string{} }

// OptionalDeps implements app.OptionalDepender.
func (m *Module) OptionalDeps() []string { return []string{"embed", "vector"} }

// Init implements app.Module.
func (m *Module) Init(ctx context.Context, c *app.Container) error { return nil }
