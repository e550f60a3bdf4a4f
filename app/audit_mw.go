package app

import (
	"lakehouse/modules/kit"
	"time"

	"github.com/labstack/echo/v4"
)

func isMutating(method string) bool {
	switch method {
	case "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// auditMiddleware records every mutating call through the container's
// AuditSink, when one is provided.
func auditMiddleware(c *kit.Container) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			start := time.Now()
			err := next(ec)
			if !isMutating(ec.Request().Method) || kit.AuditSkipped(ec) {
				return err
			}
			sink, ok := kit.Lookup[kit.AuditSink](c)
			if !ok {
				return err
			}
			status := ec.Response().Status
			module := kit.ModuleOf(ec)
			if module == "" {
				module = "server" // the server's own routes
			}
			ev := kit.AuditEvent{
				Time:       start.UTC(),
				RequestID:  ec.Response().Header().Get(echo.HeaderXRequestID),
				Principal:  kit.PrincipalName(ec),
				ClientIP:   kit.ClientIP(ec),
				Module:     module,
				Method:     ec.Request().Method,
				Route:      ec.Path(),
				Path:       ec.Request().URL.Path,
				DurationMS: float64(time.Since(start).Microseconds()) / 1000,
			}
			ev.Fields = kit.AuditFields(ec)
			if err != nil {
				apiErr := kit.AsAPIError(err)
				status, ev.Error = apiErr.Status, apiErr.Message
			}
			ev.Status, ev.Success = status, status < 400
			sink.Audit(ev)
			return err
		}
	}
}
