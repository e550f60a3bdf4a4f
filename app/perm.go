package app

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// Perm is what one route needs: a role and, when the route is about one
// dataset, the path or query parameter naming it, whose grant the gate
// checks before the handler runs. Routes whose dataset arrives in the
// body or that list datasets apply the grants themselves (SeesDataset).
type Perm struct {
	Role Role
	// Dataset is the path parameter (":name") or, failing that, the query
	// parameter holding the dataset the route reads or writes.
	Dataset string
}

// Need is a permission of role alone.
func Need(r Role) Perm { return Perm{Role: r} }

// NeedOn is a permission of role on the dataset named by param.
func NeedOn(r Role, param string) Perm { return Perm{Role: r, Dataset: param} }

// Permissioned is implemented by every module that serves routes: the
// permission each route needs, keyed like RouteDocs ("METHOD /rel/path",
// relative to the module's prefix; "*" as the method covers every
// method). A route without one stops the server from starting, so no
// route is ever served without a decision about who may call it.
type Permissioned interface{ RoutePerms() map[string]Perm }

// RootPermissioned is the same for a RootRouter's routes, keyed by their
// absolute paths ("GET /iceberg/v1/config").
type RootPermissioned interface{ RootRoutePerms() map[string]Perm }

// permit records the permissions m declares for the routes it mounted at
// base ("" for root routes) and fails when one of its routes has none or
// it declares one for a route it does not serve.
func (t *routeTable) permit(m Module, base string, perms map[string]Perm) error {
	if t.perms == nil {
		t.perms = map[string]Perm{}
	}
	for k, p := range perms {
		method, rel, _ := strings.Cut(k, " ")
		if p.Role < RoleReader || p.Role > RoleAdmin {
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
func (t *routeTable) permFor(method, template string) (Perm, bool) {
	if t == nil {
		return Perm{}, false
	}
	p, ok := t.perms[routeKey(method, template)]
	if !ok && t.isRoute(method, template) {
		return Perm{Role: RoleNone}, true // a real route nobody declared: refuse
	}
	return p, ok
}

// RoutePerm is one row of the permission table (for docs and tests).
type RoutePerm struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Module  string `json:"module"`
	Role    string `json:"role"`
	Dataset string `json:"dataset,omitempty"`
}

// Permissions lists every mounted route with the permission it needs.
func (s *Server) Permissions() []RoutePerm {
	var out []RoutePerm
	for _, r := range s.routes.routes() {
		p := s.routes.perms[routeKey(r.Method, r.Path)]
		out = append(out, RoutePerm{Method: r.Method, Path: r.Path, Module: r.Module, Role: p.Role.String(), Dataset: p.Dataset})
	}
	return out
}

// authorize applies the matched route's permission to principal p.
func (t *routeTable) authorize(c echo.Context, p *Principal) error {
	method := c.Request().Method
	perm, ok := t.permFor(method, c.Path())
	if !ok {
		return nil
	}
	if !p.Can(perm.Role) {
		if perm.Role == RoleNone {
			return Errorf(http.StatusForbidden, "forbidden", "%s %s declares no permission, so nobody may call it", method, c.Path())
		}
		return Errorf(http.StatusForbidden, "forbidden", "principal %q has the %s role; %s %s needs %s",
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
		return Errorf(http.StatusNotFound, "not_found", "dataset %q not found", name)
	}
	return nil
}

// serverModule owns the server's own routes in the route table (the
// admins' session routes).
type serverModule struct{}

func (serverModule) Name() string                           { return "server" }
func (serverModule) Deps() []string                         { return nil }
func (serverModule) Init(context.Context, *Container) error { return nil }

// server records the routes register adds as the server's own, with
// their permissions keyed by absolute path.
func (t *routeTable) server(e *echo.Echo, register func(), perms map[string]Perm) error {
	if err := t.record(e, serverModule{}, register); err != nil {
		return err
	}
	return t.permit(serverModule{}, "", perms)
}
