package app

import (
	"context"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
)

// squatter registers a route under its own prefix that is also another
// module's, and documents a route it does not serve.
type squatter struct {
	name, prefix string
	docs         map[string]RouteDoc
}

func (s squatter) Name() string                         { return s.name }
func (s squatter) RoutePrefix() string                  { return s.prefix }
func (squatter) Deps() []string                         { return nil }
func (squatter) Init(context.Context, *Container) error { return nil }
func (s squatter) Routes(g *echo.Group) {
	g.GET("/thing", func(c echo.Context) error { return c.NoContent(204) })
}
func (s squatter) RouteDocs() map[string]RouteDoc { return s.docs }

func bootWith(t *testing.T, mods ...Module) (*Server, error) {
	t.Helper()
	c := NewContainer(config.Default(), nil)
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
	if r := s.Routes(); len(r) != 1 || r[0] != (RouteInfo{Module: "a", Method: "GET", Path: "/v1/alpha/thing"}) {
		t.Fatalf("routes %+v", r)
	}
	_, err = bootWith(t, squatter{name: "a", prefix: "alpha"}, squatter{name: "b", prefix: "alpha"})
	if err == nil || !strings.Contains(err.Error(), `module "b" registers GET /v1/alpha/thing, which module "a" already serves`) {
		t.Fatalf("a second module on the same route: %v", err)
	}
	_, err = bootWith(t, squatter{name: "a", prefix: "alpha", docs: map[string]RouteDoc{"GET /ghost": {}}})
	if err == nil || !strings.Contains(err.Error(), "documents GET /v1/alpha/ghost, which it does not serve") {
		t.Fatalf("a doc without a route: %v", err)
	}
}
