package embed

import (
	"context"

	"lakehouse/app"
)

// Module is the embed module. STUB: being written.
type Module struct{}

var _ app.Module = (*Module)(nil)

// New returns the embed module.
func New() *Module { return &Module{} }

// Name implements app.Module.
func (m *Module) Name() string { return "embed" }

// Deps implements app.Module.
func (m *Module) Deps() []string { return []string{} }

// OptionalDeps implements app.OptionalDepender.
func (m *Module) OptionalDeps() []string { return []string{} }

// Init implements app.Module.
func (m *Module) Init(ctx context.Context, c *app.Container) error { return nil }
