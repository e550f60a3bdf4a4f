package observer

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"lakehouse/app"
)

// runWorkflow is POST /v1/observer/workflow/run: 200 with the finished run
// (nodes may have failed: the run's success says so), or with "async":
// true, 202 with the run id to poll.
func (m *Module) runWorkflow(c echo.Context) error {
	data, err := m.readBody(c)
	if err != nil {
		return err
	}
	var wf Workflow
	if err := json.Unmarshal(data, &wf); err != nil {
		return badJSON(data, err)
	}
	who := Caller{Principal: principal(c), ClientIP: clientIP(c)}
	if wf.Async {
		rs, err := m.runner.Start(nil, wf, who)
		if err != nil {
			return err
		}
		run := rs.snapshot()
		return c.JSON(http.StatusAccepted, map[string]any{
			"id": run.ID, "status": run.Status, "workflow": run.Workflow, "url": "/v1/observer/workflow/" + run.ID,
		})
	}
	ctx := c.Request().Context()
	rs, err := m.runner.Start(ctx, wf, who)
	if err != nil {
		return err
	}
	if err := rs.wait(ctx); err != nil {
		return app.Errorf(http.StatusServiceUnavailable, "cancelled", "workflow run %s: %v", rs.snapshot().ID, err)
	}
	return c.JSON(http.StatusOK, rs.snapshot())
}

func (m *Module) getRun(c echo.Context) error {
	run, ok := m.runner.Get(c.Param("id"))
	if !ok {
		return app.NotFound("no workflow run %q (runs are kept in memory; the newest %d survive)", c.Param("id"), m.cfg.KeepRuns)
	}
	return c.JSON(http.StatusOK, run)
}

func (m *Module) listRuns(c echo.Context) error {
	runs := m.runner.List()
	return c.JSON(http.StatusOK, map[string]any{"runs": runs, "count": len(runs), "modes": m.runner.Modes()})
}
