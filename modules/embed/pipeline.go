package embed

import "github.com/labstack/echo/v4"

// pipelines tracks running from-dataset jobs (written below).
type pipelines struct{}

func newPipelines() *pipelines { return &pipelines{} }

func (m *Module) handleFromDataset(c echo.Context) error {
	return echo.ErrNotImplemented
}
