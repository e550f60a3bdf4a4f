package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// Prefixed is implemented by modules whose routes live under a prefix
// other than their name (query serves /v1/sql, vector /v1/vectors). The
// server gives each module a group at /v1/<prefix>, so a module's routes
// can only be under its own prefix.
type Prefixed interface{ RoutePrefix() string }

// Guest is implemented by a module whose routes live inside another
// module's prefix, at a path its clients already know: workflow serves
// /v1/observer/workflow/..., indexer /v1/vectors/index/<name>/from-dataset.
// Its RoutePrefix is the whole path ("observer/workflow"); HostModule
// names the module that owns the enclosing prefix. Without it, a module
// whose prefix is, or is inside, another module's stops the server: no
// module can wander into another's paths by accident.
type Guest interface {
	Prefixed
	HostModule() string
}

// Configured is implemented by modules that read a section of the
// configuration; it names the section's TOML key ("storage", "query").
// The registry test checks that every section a module names exists, has
// defaults and a Validate, and is in the generated reference.
type Configured interface{ ConfigSection() string }

// PrefixOf is the module's route prefix: RoutePrefix when it has one, else
// its name.
func PrefixOf(m Module) string {
	if p, ok := m.(Prefixed); ok {
		return p.RoutePrefix()
	}
	return m.Name()
}

// ContextModule is the echo context key holding the name of the module
// whose route serves the request; audit and metrics read it.
const ContextModule = "lakehouse.module"

// RouteInfo is one mounted route and the module that owns it.
type RouteInfo struct {
	Module string `json:"module"`
	Method string `json:"method"`
	Path   string `json:"path"`
}

// routeTable records which module owns each mounted route, so the module
// of a request comes from the route it matched, never from guessing at
// the URL.
type routeTable struct {
	owner map[string]string // "METHOD /path/template" → module
	list  []RouteInfo
	real  map[string]bool // every real route of the server, sealed after mounting
	docs  map[string]RouteDoc
	perms map[string]Perm // "METHOD /path/template" → what it needs (perm.go)
}

// seal records every route of e that is a real route (not a group's
// catch-all), once everything is mounted.
func (t *routeTable) seal(e *echo.Echo) {
	real := map[string]bool{}
	for _, rt := range e.Routes() {
		if rt.Method != echo.RouteNotFound {
			real[routeKey(rt.Method, rt.Path)] = true
		}
	}
	t.real = real
}

// isRoute reports whether method and the template the router matched are
// a real route rather than a group's catch-all answering 404.
func (t *routeTable) isRoute(method, template string) bool {
	if template == "" {
		return false
	}
	if t == nil || t.real == nil {
		return !isCatchAll(template)
	}
	return t.real[routeKey(method, template)]
}

// checkPrefixes refuses two modules whose prefixes overlap (equal, or one
// inside the other) unless the inner one is declared a Guest of the outer
// one, and a Guest whose prefix is not inside its host's.
func checkPrefixes(mods []Module, registered func(string) (Module, bool)) error {
	for _, m := range mods {
		g, ok := m.(Guest)
		if !ok {
			continue
		}
		host, ok := registered(g.HostModule())
		if !ok {
			return fmt.Errorf("server: module %q is a guest of %q, which is not registered", m.Name(), g.HostModule())
		}
		if !inside(PrefixOf(m), PrefixOf(host)) {
			return fmt.Errorf("server: module %q mounts at /v1/%s, which is not inside its host %q's /v1/%s",
				m.Name(), PrefixOf(m), host.Name(), PrefixOf(host))
		}
	}
	for i, a := range mods {
		for _, b := range mods[i+1:] {
			inner, outer := a, b
			if !inside(PrefixOf(inner), PrefixOf(outer)) {
				inner, outer = b, a
			}
			if !inside(PrefixOf(inner), PrefixOf(outer)) || guestOf(inner, outer) || guestOf(outer, inner) {
				continue
			}
			return fmt.Errorf("server: module %q mounts at /v1/%s, inside module %q's /v1/%s; a module may only do that as an app.Guest naming its host",
				inner.Name(), PrefixOf(inner), outer.Name(), PrefixOf(outer))
		}
	}
	return nil
}

// inside reports whether prefix p is q or a path below it.
func inside(p, q string) bool { return p == q || strings.HasPrefix(p, q+"/") }

func guestOf(m, host Module) bool {
	g, ok := m.(Guest)
	return ok && g.HostModule() == host.Name()
}

const contextRoutes = "lakehouse.routes"

// routesOf is the server's route table for a request (nil outside a
// Server, e.g. in a bare echo of a unit test).
func routesOf(c echo.Context) *routeTable {
	t, _ := c.Get(contextRoutes).(*routeTable)
	return t
}

func newRouteTable() *routeTable { return &routeTable{owner: map[string]string{}} }

func routeKey(method, path string) string { return method + " " + path }

// mount calls m.Routes with a group at /v1/<prefix> and records the routes
// it added. A module that registers a route another module already owns
// is an error naming both (echo would silently replace the handler).
func (t *routeTable) mount(e *echo.Echo, api *echo.Group, m Module, r Router) error {
	if err := t.record(e, m, func() { r.Routes(api.Group("/" + PrefixOf(m))) }); err != nil {
		return err
	}
	if pm, ok := m.(Permissioned); ok {
		if err := t.permit(m, "/v1/"+PrefixOf(m), pm.RoutePerms()); err != nil {
			return err
		}
	}
	return t.document(m)
}

// record runs register (which adds m's routes to e) and records the
// routes it added as m's.
func (t *routeTable) record(e *echo.Echo, m Module, register func()) error {
	// echo stores a new *Route for every registration, so a route whose
	// pointer changed was registered (again) by register.
	before := map[string]*echo.Route{}
	for _, rt := range e.Routes() {
		before[routeKey(rt.Method, rt.Path)] = rt
	}
	register()
	for _, rt := range e.Routes() {
		if rt.Method == echo.RouteNotFound {
			continue
		}
		k := routeKey(rt.Method, rt.Path)
		if prev, had := before[k]; had && prev == rt {
			continue
		}
		if prev, owned := t.owner[k]; owned {
			return fmt.Errorf("server: module %q registers %s, which module %q already serves", m.Name(), k, prev)
		}
		t.owner[k] = m.Name()
		t.list = append(t.list, RouteInfo{Module: m.Name(), Method: rt.Method, Path: rt.Path})
	}
	return nil
}

// routes returns the mounted routes sorted by path then method.
func (t *routeTable) routes() []RouteInfo {
	out := append([]RouteInfo(nil), t.list...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// moduleContext puts the owning module's name in the request context once
// the router has matched a route (echo's Use middleware runs after
// routing), for every middleware and handler after it.
func (t *routeTable) moduleContext() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(contextRoutes, t)
			if m, ok := t.owner[routeKey(c.Request().Method, c.Path())]; ok {
				c.Set(ContextModule, m)
			}
			return next(c)
		}
	}
}

// moduleOf is the module serving the request, "" for routes no module
// owns (/health, /ready, unmatched paths).
func moduleOf(c echo.Context) string {
	s, _ := c.Get(ContextModule).(string)
	return s
}
