package app

import (
	"time"

	"github.com/labstack/echo/v4"
)

// AuditEvent describes one mutating HTTP call, whatever module served it.
type AuditEvent struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id"`
	Principal  string    `json:"principal"`
	ClientIP   string    `json:"client_ip"`
	Module     string    `json:"module"`
	Method     string    `json:"method"`
	Route      string    `json:"route"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	Success    bool      `json:"success"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	// Fields are what the handler noted about the call (AuditNote).
	Fields map[string]any `json:"fields,omitempty"`
}

// AuditSink receives one AuditEvent per mutating call. The observer module
// provides it; the server's audit middleware is the only caller, so no
// handler repeats audit code.
type AuditSink interface{ Audit(ev AuditEvent) }

const (
	contextNoAudit     = "lakehouse.no_audit"
	contextAuditFields = "lakehouse.audit_fields"
)

// AuditNote adds a fact to the request's audit row: the route says what
// kind of call it was, not what it did (which dataset an ingest wrote,
// how many rows, which version; a saved query's title), and the
// Activity page words a row for people from these.
func AuditNote(c echo.Context, key string, value any) {
	m, _ := c.Get(contextAuditFields).(map[string]any)
	if m == nil {
		m = map[string]any{}
		c.Set(contextAuditFields, m)
	}
	m[key] = value
}

// ReadOnly marks a route that uses POST for a read (search, SQL, embed) so
// the audit middleware does not record it as a write.
func ReadOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(contextNoAudit, true)
		return next(c)
	}
}

func isMutating(method string) bool {
	switch method {
	case "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// auditMiddleware records every mutating call through the container's
// AuditSink, when one is provided.
func auditMiddleware(c *Container) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			start := time.Now()
			err := next(ec)
			if !isMutating(ec.Request().Method) || ec.Get(contextNoAudit) == true {
				return err
			}
			sink, ok := Lookup[AuditSink](c)
			if !ok {
				return err
			}
			status := ec.Response().Status
			ev := AuditEvent{
				Time:       start.UTC(),
				RequestID:  ec.Response().Header().Get(echo.HeaderXRequestID),
				Principal:  PrincipalName(ec),
				ClientIP:   ClientIP(ec),
				Module:     stringOr(moduleOf(ec), "server"),
				Method:     ec.Request().Method,
				Route:      ec.Path(),
				Path:       ec.Request().URL.Path,
				DurationMS: float64(time.Since(start).Microseconds()) / 1000,
			}
			ev.Fields, _ = ec.Get(contextAuditFields).(map[string]any)
			if err != nil {
				apiErr := toAPIError(err)
				status, ev.Error = apiErr.Status, apiErr.Message
			}
			ev.Status, ev.Success = status, status < 400
			sink.Audit(ev)
			return err
		}
	}
}

// PrincipalName is who the gate authenticated for the request ("anonymous"
// in development mode), as audit rows record it.
func PrincipalName(c echo.Context) string { return stringOr(c.Get(ContextPrincipal), "anonymous") }

// ClientIP is the client address the gate resolved (trusted proxies
// unwrapped), else echo's view of it.
func ClientIP(c echo.Context) string { return stringOr(c.Get(ContextClientIP), c.RealIP()) }

func stringOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}
