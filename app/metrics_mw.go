package app

import (
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
)

// metricsMiddleware records one request in m: its route template
// (c.Path(); a path that is no real route becomes "unmatched", so labels
// stay bounded whatever clients send), module and final status.
func metricsMiddleware(m *kit.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := statusOf(c, err)
			route := c.Path()
			if !routesOf(c).isRoute(c.Request().Method, route) {
				route = "unmatched"
			}
			module := kit.ModuleOf(c) // set from the route table
			if module == "" || route == "unmatched" {
				module = "server"
			}
			m.Observe(module, route, c.Request().Method, status, time.Since(start))
			return err
		}
	}
}

// statusOf is the status a request was (or, for an error the handler
// returned, will be) answered with.
func statusOf(c echo.Context, err error) int {
	if err != nil {
		return kit.AsAPIError(err).Status
	}
	return c.Response().Status
}
