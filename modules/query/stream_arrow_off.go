//go:build !duckdb_arrow

package query

import (
	"context"
	"lakehouse/modules/kit"
	"net/http"

	"github.com/labstack/echo/v4"
)

// streamArrow needs the driver's Arrow API, compiled only with
// -tags duckdb_arrow (the Makefile always sets it). Without it the format
// is refused instead of the whole package failing to build.
func (m *Module) streamArrow(_ context.Context, _ echo.Context, _ sqlRequest) error {
	return kit.Errorf(http.StatusNotImplemented, "format_unavailable",
		"format \"arrow\" needs a binary built with -tags duckdb_arrow (make build); use json, ndjson or csv")
}
