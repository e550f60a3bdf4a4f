package app

import (
	"context"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// permit records the permissions m declares for the routes it mounted at
// base ("" for root routes) and fails when one of its routes has none or
// it declares one for a route it does not serve.
func (t *routeTable) permit(m kit.Module, base string, perms map[string]kit.Perm) error {
	if t.perms == nil {
		t.perms = map[string]kit.Perm{}
	}
	for k, p := range perms {
		method, rel, _ := strings.Cut(k, " ")
		if p.Role < kit.RoleReader || p.Role > kit.RoleAdmin {
			return fmt.Errorf("server: module %q declares no valid role for %s", m.Name(), k)
		}
		path := base + rel
		served := false
		for _, r := range t.list {
			if r.Module == m.Name() && r.Path == path && (method == "*" || r.Method == method) {
				t.perms[routeKey(r.Method, r.Path)] = p
				served = true
			}
		}
		if !served {
			return fmt.Errorf("server: module %q declares a permission for %s %s, which it does not serve", m.Name(), method, path)
		}
	}
	return nil
}

// unpermitted lists the routes with no declared permission.
func (t *routeTable) unpermitted() []string {
	var out []string
	for _, r := range t.list {
		if _, ok := t.perms[routeKey(r.Method, r.Path)]; !ok {
			out = append(out, r.Method+" "+r.Path+" ("+r.Module+")")
		}
	}
	sort.Strings(out)
	return out
}

// permFor is the permission of the route the router matched; ok is false
// for a path that is no real route (it answers 404 or 405 on its own).
func (t *routeTable) permFor(method, template string) (kit.Perm, bool) {
	if t == nil {
		return kit.Perm{}, false
	}
	p, ok := t.perms[routeKey(method, template)]
	if !ok && t.isRoute(method, template) {
		return kit.Perm{Role: kit.RoleNone}, true // a real route nobody declared: refuse
	}
	return p, ok
}

// Permissions lists every mounted route with the permission it needs.
func (s *Server) Permissions() []kit.RoutePerm {
	var out []kit.RoutePerm
	for _, r := range s.routes.routes() {
		p := s.routes.perms[routeKey(r.Method, r.Path)]
		out = append(out, kit.RoutePerm{Method: r.Method, Path: r.Path, Module: r.Module, Role: p.Role.String(), Dataset: p.Dataset})
	}
	return out
}

// authorize applies the matched route's permission to principal p.
func (t *routeTable) authorize(c echo.Context, p *kit.Principal) error {
	method := c.Request().Method
	perm, ok := t.permFor(method, c.Path())
	if !ok {
		return nil
	}
	if !p.Can(perm.Role) {
		if perm.Role == kit.RoleNone {
			return kit.Errorf(http.StatusForbidden, "forbidden", "%s %s declares no permission, so nobody may call it", method, c.Path())
		}
		return kit.Errorf(http.StatusForbidden, "forbidden", "principal %q has the %s role; %s %s needs %s",
			p.Name, p.Role, method, c.Path(), perm.Role)
	}
	if perm.Dataset == "" {
		return nil
	}
	name := c.Param(perm.Dataset)
	if name == "" {
		name = c.QueryParam(perm.Dataset)
	}
	if base, _, ok := strings.Cut(name, "@"); ok {
		name = base
	}
	if name != "" && !p.Sees(name) {
		// The same answer as for a dataset that does not exist: a grant
		// list must not reveal which names exist beyond it.
		return kit.Errorf(http.StatusNotFound, "not_found", "dataset %q not found", name)
	}
	return nil
}

// serverModule owns the server's own routes in the route table (the
// admins' session routes).
type serverModule struct{}

func (serverModule) Name() string { return "server" }

func (serverModule) Deps() []string { return nil }

func (serverModule) Init(context.Context, *kit.Container) error { return nil }

// server records the routes register adds as the server's own, with
// their permissions keyed by absolute path.
func (t *routeTable) server(e *echo.Echo, register func(), perms map[string]kit.Perm) error {
	if err := t.record(e, serverModule{}, register); err != nil {
		return err
	}
	return t.permit(serverModule{}, "", perms)
}
