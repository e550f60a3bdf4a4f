package app

import (
	"context"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// squatter registers a route under its own prefix that is also another
// module's, and documents a route it does not serve.
type squatter struct {
	name, prefix string
	docs         map[string]kit.RouteDoc
}

func (s squatter) Name() string                             { return s.name }
func (s squatter) RoutePrefix() string                      { return s.prefix }
func (squatter) Deps() []string                             { return nil }
func (squatter) Init(context.Context, *kit.Container) error { return nil }
func (s squatter) Routes(g *echo.Group) {
	g.GET("/thing", func(c echo.Context) error { return c.NoContent(204) })
}
func (squatter) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{"GET /thing": kit.Need(kit.RoleReader)}
}
func (s squatter) RouteDocs() map[string]kit.RouteDoc { return s.docs }

// moduleRoutes is s's route list without the server's own routes.
func moduleRoutes(s *Server) []kit.RouteInfo {
	var out []kit.RouteInfo
	for _, r := range s.Routes() {
		if r.Module != "server" {
			out = append(out, r)
		}
	}
	return out
}

func bootWith(t *testing.T, mods ...kit.Module) (*Server, error) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	c := kit.NewContainer(cfg, nil)
	var names []string
	for _, m := range mods {
		if err := c.Register(m); err != nil {
			t.Fatal(err)
		}
		names = append(names, m.Name())
	}
	plan, err := c.Plan(names)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(t.Context(), plan); err != nil {
		t.Fatal(err)
	}
	return NewServer(c, names)
}

// TestModulesStayUnderTheirPrefix: a module's routes are mounted under
// /v1/<prefix>, recorded as its own, and another module registering the
// same route, or documenting a route it does not serve, stops the server.
func TestModulesStayUnderTheirPrefix(t *testing.T) {
	s, err := bootWith(t, squatter{name: "a", prefix: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	if r := moduleRoutes(s); len(r) != 1 || r[0] != (kit.RouteInfo{Module: "a", Method: "GET", Path: "/v1/alpha/thing"}) {
		t.Fatalf("routes %+v", r)
	}
	// Even a declared guest cannot take a route its host serves.
	_, err = bootWith(t, squatter{name: "a", prefix: "alpha"}, guest{squatter{name: "b", prefix: "alpha"}, "a"})
	if err == nil || !strings.Contains(err.Error(), `module "b" registers GET /v1/alpha/thing, which module "a" already serves`) {
		t.Fatalf("a second module on the same route: %v", err)
	}
	_, err = bootWith(t, squatter{name: "a", prefix: "alpha", docs: map[string]kit.RouteDoc{"GET /ghost": {}}})
	if err == nil || !strings.Contains(err.Error(), "documents GET /v1/alpha/ghost, which it does not serve") {
		t.Fatalf("a doc without a route: %v", err)
	}
	// A route with no permission, or a permission for a route not served,
	// stops the server too.
	_, err = bootWith(t, unpermitted{squatter{name: "a", prefix: "alpha"}})
	if err == nil || !strings.Contains(err.Error(), "routes with no declared permission") || !strings.Contains(err.Error(), "GET /v1/alpha/thing (a)") {
		t.Fatalf("a route without a permission: %v", err)
	}
	_, err = bootWith(t, ghostPerm{squatter{name: "a", prefix: "alpha"}})
	if err == nil || !strings.Contains(err.Error(), "declares a permission for GET /v1/alpha/ghost, which it does not serve") {
		t.Fatalf("a permission without a route: %v", err)
	}
}

// unpermitted is a module that declares no permissions.
type unpermitted struct{ squatter }

func (unpermitted) RoutePerms() map[string]kit.Perm { return nil }

// ghostPerm declares a permission for a route it does not serve.
type ghostPerm struct{ squatter }

func (ghostPerm) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{"GET /thing": kit.Need(kit.RoleReader), "GET /ghost": kit.Need(kit.RoleReader)}
}

// guest is a squatter that declares its host.
type guest struct {
	squatter
	host string
}

func (g guest) HostModule() string { return g.host }

// TestModuleInsideAnotherPrefixMustSayHost: a module mounting inside
// another module's prefix stops the server unless it is an kit.Guest
// naming that module, and a guest must stay inside its host's prefix.
func TestModuleInsideAnotherPrefixMustSayHost(t *testing.T) {
	_, err := bootWith(t, squatter{name: "a", prefix: "alpha"}, squatter{name: "b", prefix: "alpha/beta"})
	if err == nil || !strings.Contains(err.Error(), `module "b" mounts at /v1/alpha/beta, inside module "a"'s /v1/alpha`) {
		t.Fatalf("an undeclared module inside another's prefix: %v", err)
	}
	s, err := bootWith(t, squatter{name: "a", prefix: "alpha"}, guest{squatter{name: "b", prefix: "alpha/beta"}, "a"})
	if err != nil {
		t.Fatal(err)
	}
	if r := moduleRoutes(s); len(r) != 2 || r[0] != (kit.RouteInfo{Module: "b", Method: "GET", Path: "/v1/alpha/beta/thing"}) {
		t.Fatalf("routes %+v", r)
	}
	_, err = bootWith(t, squatter{name: "a", prefix: "alpha"}, guest{squatter{name: "b", prefix: "gamma"}, "a"})
	if err == nil || !strings.Contains(err.Error(), "not inside its host") {
		t.Fatalf("a guest outside its host: %v", err)
	}
}
