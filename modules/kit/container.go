// Package kit is the contract every module builds on, below them all: the
// module interfaces and the container that orders and runs them
// (Provide, Resolve, Lookup), the typed errors and the one error answer,
// route docs and permissions, roles and principals, the request helpers
// (DecodeJSON, BodyLimit, MediaTypes), audit notes, metrics and
// SubRequest. It imports no module; the server that serves the modules'
// routes is package app, the composition root on top of them.
package kit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
)

// Module is one unit of the process (storage, catalog, ...).
type Module interface {
	// Name is the module's unique name, as used by --modules.
	Name() string
	// Deps names the modules that must be initialised first.
	Deps() []string
	// Init resolves dependencies from c and builds the module's state; it
	// publishes the module's interface with Provide.
	Init(ctx context.Context, c *Container) error
}

// Router is implemented by modules that serve HTTP routes; g is the
// authenticated /v1 group.
type Router interface{ Routes(g *echo.Group) }

// RootRouter is implemented by modules that serve a prefix of their own
// outside /v1 (the Iceberg REST catalog at /iceberg); gate is the same
// auth gate /v1 sits behind, for the module to apply to its group.
type RootRouter interface {
	RootRoutes(e *echo.Echo, gate echo.MiddlewareFunc)
}

// Starter is implemented by modules with background work to start after
// every module is initialised.
type Starter interface {
	Start(ctx context.Context) error
}

// Stopper is implemented by modules holding resources; Stop runs in
// reverse initialisation order.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Checker is implemented by modules that can report readiness (/ready,
// lakehouse doctor). The error message should say how to fix the problem.
type Checker interface {
	Check(ctx context.Context) error
}

// Warner is implemented by modules that can be ready yet hold something an
// operator should look at, such as data set aside at start-up. /ready
// lists the warnings without failing (the server is serving; taking it out
// of a load balancer would not help) and lakehouse doctor prints them.
type Warner interface {
	Warnings(ctx context.Context) []string
}

// Container registers modules, orders them by dependency, runs their
// lifecycle and holds the typed services they publish.
type Container struct {
	cfg *config.Config
	log *slog.Logger

	mu       sync.RWMutex
	modules  map[string]Module
	services map[reflect.Type]any
	running  []Module // initialised, in order; stopped in reverse
}

// NewContainer returns an empty container for cfg.
func NewContainer(cfg *config.Config, log *slog.Logger) *Container {
	if log == nil {
		log = slog.Default()
	}
	c := &Container{cfg: cfg, log: log, modules: map[string]Module{}, services: map[reflect.Type]any{}}
	// Every module may register collectors on the one registry in Init.
	Provide(c, NewMetrics())
	return c
}

// Config is the process configuration.
func (c *Container) Config() *config.Config { return c.cfg }

// Logger returns the process logger tagged with a module name.
func (c *Container) Logger(module string) *slog.Logger { return c.log.With("module", module) }

// Register adds modules; a duplicate name is an error.
func (c *Container) Register(mods ...Module) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range mods {
		if _, dup := c.modules[m.Name()]; dup {
			return fmt.Errorf("container: module %q registered twice", m.Name())
		}
		c.modules[m.Name()] = m
	}
	return nil
}

// Provide publishes v as the container's T (usually a module interface).
func Provide[T any](c *Container, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services[reflect.TypeFor[T]()] = v
}

// Resolve returns the container's T or an error naming the missing type.
func Resolve[T any](c *Container) (T, error) {
	v, ok := Lookup[T](c)
	if !ok {
		return v, fmt.Errorf("container: no %s provided (is its module initialised and listed in Deps?)", reflect.TypeFor[T]())
	}
	return v, nil
}

// Lookup returns the container's T and whether it was provided; for
// optional collaborators (e.g. pathway uses embed when it is there).
func Lookup[T any](c *Container) (T, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.services[reflect.TypeFor[T]()]
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true
}

// OptionalDepender is implemented by modules that use other modules when
// they are present (pathway uses embed and vector for semantic search).
// An optional dependency is never pulled in, but when it is in the plan
// anyway it is initialised first.
type OptionalDepender interface{ OptionalDeps() []string }

// Plan returns the modules needed for the named set (their transitive
// required dependencies included) in initialisation order. Siblings are
// sorted by name so the order is deterministic. A missing dependency or a
// cycle is an error that names it.
func (c *Container) Plan(names []string) ([]Module, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	// Pass 1: the closure of required dependencies.
	inPlan := map[string]bool{}
	var closure func(name, from string) error
	closure = func(name, from string) error {
		m, ok := c.modules[name]
		if !ok {
			if from == "" {
				return fmt.Errorf("container: unknown module %q", name)
			}
			return fmt.Errorf("container: module %q depends on %q, which is not registered", from, name)
		}
		if inPlan[name] {
			return nil
		}
		inPlan[name] = true
		for _, d := range m.Deps() {
			if err := closure(d, name); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := closure(n, ""); err != nil {
			return nil, err
		}
	}
	// Pass 2: depth-first topological order over required and present
	// optional edges.
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []Module
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			i := slices.Index(path, name)
			return fmt.Errorf("container: dependency cycle: %s", strings.Join(append(slices.Clone(path[i:]), name), " -> "))
		}
		state[name] = visiting
		m := c.modules[name]
		deps := slices.Clone(m.Deps())
		if o, ok := m.(OptionalDepender); ok {
			for _, d := range o.OptionalDeps() {
				if inPlan[d] {
					deps = append(deps, d)
				}
			}
		}
		slices.Sort(deps)
		for _, d := range deps {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, m)
		return nil
	}
	all := make([]string, 0, len(inPlan))
	for n := range inPlan {
		all = append(all, n)
	}
	slices.Sort(all)
	for _, n := range all {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Init initialises the planned modules in order. If one fails, the
// modules already initialised are stopped in reverse order and the error
// names the failing module.
func (c *Container) Init(ctx context.Context, plan []Module) error {
	for _, m := range plan {
		c.log.Debug("module init", "module", m.Name())
		if err := m.Init(ctx, c); err != nil {
			stopErr := c.Stop(ctx)
			return errors.Join(fmt.Errorf("%s: init: %w", m.Name(), err), stopErr)
		}
		c.mu.Lock()
		c.running = append(c.running, m)
		c.mu.Unlock()
	}
	return nil
}

// Start calls Start on every initialised module that has one. A failure
// stops everything initialised.
func (c *Container) Start(ctx context.Context) error {
	for _, m := range c.Running() {
		if s, ok := m.(Starter); ok {
			if err := s.Start(ctx); err != nil {
				stopErr := c.Stop(ctx)
				return errors.Join(fmt.Errorf("%s: start: %w", m.Name(), err), stopErr)
			}
		}
	}
	return nil
}

// Stop stops every initialised module in reverse order, collecting errors.
// It is safe to call more than once.
func (c *Container) Stop(ctx context.Context) error {
	c.mu.Lock()
	running := c.running
	c.running = nil
	c.mu.Unlock()
	var errs []error
	for i := len(running) - 1; i >= 0; i-- {
		m := running[i]
		if s, ok := m.(Stopper); ok {
			c.log.Debug("module stop", "module", m.Name())
			if err := s.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: stop: %w", m.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Module returns the registered module called name.
func (c *Container) Module(name string) (Module, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.modules[name]
	return m, ok
}

// Running returns the initialised modules in initialisation order.
func (c *Container) Running() []Module {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.running)
}

// Warnings returns, by module name, the warnings of every running module
// that implements Warner and has any.
func (c *Container) Warnings(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for _, m := range c.Running() {
		if w, ok := m.(Warner); ok {
			if ws := w.Warnings(ctx); len(ws) > 0 {
				out[m.Name()] = ws
			}
		}
	}
	return out
}

// Check runs every running module's Checker and returns the results by
// module name (nil = ready).
func (c *Container) Check(ctx context.Context) map[string]error {
	out := map[string]error{}
	for _, m := range c.Running() {
		if ch, ok := m.(Checker); ok {
			out[m.Name()] = ch.Check(ctx)
		} else {
			out[m.Name()] = nil
		}
	}
	return out
}
