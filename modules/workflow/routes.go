package workflow

import (
	"lakehouse/modules/kit"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Routes implements kit.Router: the group is /v1/observer/workflow (see
// Mount). Runs are audited by the middleware (who ran it) and by one row
// per node.
func (m *Module) Routes(g *echo.Group) {
	g.POST("/run", m.runWorkflow)
	g.GET("", m.listRuns)
	g.GET("/:id", m.getRun)
}

// runWorkflow is POST /v1/observer/workflow/run: 200 with the finished run
// (nodes may have failed: the run's success says so), or with "async":
// true, 202 with the run id to poll. The body may nest no deeper than
// observer.max_json_depth: its inputs are copied into audit rows that must
// decode again at replay.
func (m *Module) runWorkflow(c echo.Context) error {
	var wf Workflow
	if err := kit.DecodeJSON(c.Request().Body, &wf, kit.MaxDepth(m.maxDepth, "observer.max_json_depth")); err != nil {
		return err
	}
	who := Caller{Principal: kit.PrincipalName(c), ClientIP: kit.ClientIP(c)}
	if wf.Async {
		rs, err := m.runner.Start(nil, wf, who)
		if err != nil {
			return err
		}
		run := rs.snapshot()
		return c.JSON(http.StatusAccepted, Accepted{ID: run.ID, Status: run.Status, Workflow: run.Workflow, URL: "/v1/observer/workflow/" + run.ID})
	}
	ctx := c.Request().Context()
	rs, err := m.runner.Start(ctx, wf, who)
	if err != nil {
		return err
	}
	if err := rs.wait(ctx); err != nil {
		return kit.Errorf(http.StatusServiceUnavailable, "cancelled", "workflow run %s: %v", rs.snapshot().ID, err)
	}
	return c.JSON(http.StatusOK, rs.snapshot())
}

// Accepted is the 202 answer to an async run.
type Accepted struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Workflow string `json:"workflow"`
	URL      string `json:"url"` // where to poll the run
}

// RunList is GET /v1/observer/workflow: the kept runs, newest first,
// without node outputs, and the modes a node may use.
type RunList struct {
	Runs  []Run    `json:"runs"`
	Count int      `json:"count"`
	Modes []string `json:"modes"`
}

func (m *Module) getRun(c echo.Context) error {
	run, ok := m.runner.Get(c.Param("id"))
	if !ok {
		return kit.NotFound("no workflow run %q (runs are kept in memory; the newest %d survive)", c.Param("id"), m.cfg.KeepRuns)
	}
	return c.JSON(http.StatusOK, run)
}

func (m *Module) listRuns(c echo.Context) error {
	runs := m.runner.List()
	return c.JSON(http.StatusOK, RunList{Runs: runs, Count: len(runs), Modes: m.runner.Modes()})
}

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST /run": {Summary: "run a workflow (a DAG of sql, embed, vector and pathway nodes); 202 with an id when async",
			Request: Workflow{}, Response: Run{}},
		"GET ":     {Summary: "the kept workflow runs, newest first, and the known modes", Response: RunList{}},
		"GET /:id": {Summary: "one workflow run, with node outputs while it runs and after", Response: Run{}},
	}
}
