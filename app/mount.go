package app

import (
	"fmt"
	"lakehouse/modules/kit"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// routeTable records which module owns each mounted route, so the module
// of a request comes from the route it matched, never from guessing at
// the URL.
type routeTable struct {
	owner map[string]string // "METHOD /path/template" → module
	list  []kit.RouteInfo
	real  map[string]bool // every real route of the server, sealed after mounting
	docs  map[string]kit.RouteDoc
	perms map[string]kit.Perm // "METHOD /path/template" → what it needs (perm.go)
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
func checkPrefixes(mods []kit.Module, registered func(string) (kit.Module, bool)) error {
	for _, m := range mods {
		g, ok := m.(kit.Guest)
		if !ok {
			continue
		}
		host, ok := registered(g.HostModule())
		if !ok {
			return fmt.Errorf("server: module %q is a guest of %q, which is not registered", m.Name(), g.HostModule())
		}
		if !inside(kit.PrefixOf(m), kit.PrefixOf(host)) {
			return fmt.Errorf("server: module %q mounts at /v1/%s, which is not inside its host %q's /v1/%s",
				m.Name(), kit.PrefixOf(m), host.Name(), kit.PrefixOf(host))
		}
	}
	for i, a := range mods {
		for _, b := range mods[i+1:] {
			inner, outer := a, b
			if !inside(kit.PrefixOf(inner), kit.PrefixOf(outer)) {
				inner, outer = b, a
			}
			if !inside(kit.PrefixOf(inner), kit.PrefixOf(outer)) || guestOf(inner, outer) || guestOf(outer, inner) {
				continue
			}
			return fmt.Errorf("server: module %q mounts at /v1/%s, inside module %q's /v1/%s; a module may only do that as an kit.Guest naming its host",
				inner.Name(), kit.PrefixOf(inner), outer.Name(), kit.PrefixOf(outer))
		}
	}
	return nil
}

// inside reports whether prefix p is q or a path below it.
func inside(p, q string) bool { return p == q || strings.HasPrefix(p, q+"/") }

func guestOf(m, host kit.Module) bool {
	g, ok := m.(kit.Guest)
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
func (t *routeTable) mount(e *echo.Echo, api *echo.Group, m kit.Module, r kit.Router) error {
	if err := t.record(e, m, func() { r.Routes(api.Group("/" + kit.PrefixOf(m))) }); err != nil {
		return err
	}
	if pm, ok := m.(kit.Permissioned); ok {
		if err := t.permit(m, "/v1/"+kit.PrefixOf(m), pm.RoutePerms()); err != nil {
			return err
		}
	}
	return t.document(m)
}

// record runs register (which adds m's routes to e) and records the
// routes it added as m's.
func (t *routeTable) record(e *echo.Echo, m kit.Module, register func()) error {
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
		t.list = append(t.list, kit.RouteInfo{Module: m.Name(), Method: rt.Method, Path: rt.Path})
	}
	return nil
}

// routes returns the mounted routes sorted by path then method.
func (t *routeTable) routes() []kit.RouteInfo {
	out := append([]kit.RouteInfo(nil), t.list...)
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
				c.Set(kit.ContextModule, m)
			}
			return next(c)
		}
	}
}
