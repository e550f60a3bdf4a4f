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
			status := c.Response().Status
			if err != nil {
				status = kit.AsAPIError(err).Status
			}
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
