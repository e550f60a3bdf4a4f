// Package workbench holds the server side of the web UI's staffing
// workbench that the other modules' APIs do not already cover: named SQL
// queries saved server-side (so a team shares them; planned before they
// are saved, versioned, restorable, runnable at a stable address) and
// streamed exports of a query's whole answer as CSV, JSON or Parquet.
//
// Everything else the UI does (browsing, facets, search, memory, ingest,
// activity) uses the other modules' routes directly.
package workbench

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/query"
	"lakehouse/modules/storage"
)

// Module is the workbench module.
type Module struct {
	queries *queryStore
	log     *slog.Logger
	canPlan bool               // the query module runs: saves are planned through POST /v1/sql
	reach   query.Reachability // the caller's grants over a query's SQL (nil: no query module)
}

// New returns the module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "workbench" }

// Deps implements kit.Module: saved queries live in object storage.
func (m *Module) Deps() []string { return []string{"storage"} }

// OptionalDeps implements kit.OptionalDepender: exports run SQL through
// the query module's route when it is there.
func (m *Module) OptionalDeps() []string { return []string{"query"} }

// Init implements kit.Module.
func (m *Module) Init(_ context.Context, c *kit.Container) error {
	st, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	m.log = c.Logger("workbench")
	m.queries = &queryStore{st: st}
	m.reach, _ = kit.Lookup[query.Reachability](c)
	kit.Provide[TextRedactor](c, m)
	// OptionalDeps puts the query module first when it runs at all.
	for _, r := range c.Running() {
		if r.Name() == "query" {
			m.canPlan = true
		}
	}
	return nil
}

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	w := g
	w.GET("/queries", m.listQueries)
	w.GET("/queries/:id", m.getQuery, m.granted)
	w.PUT("/queries/:id", m.putQuery, m.granted)
	w.DELETE("/queries/:id", m.deleteQuery, m.granted)
	w.GET("/queries/:id/versions", m.queryVersions, m.granted)
	w.POST("/queries/:id/restore", m.restoreQuery, m.granted)
	w.GET("/queries/:id/run", m.runQuery, m.granted)
	w.GET("/export", m.export)
}
