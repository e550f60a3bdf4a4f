package kit

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

// AuditSkipped says whether the route marked the request as a read
// (ReadOnly), which the audit middleware does not record.
func AuditSkipped(c echo.Context) bool { return c.Get(contextNoAudit) == true }

// AuditFields is what the handler noted about the call (AuditNote).
func AuditFields(c echo.Context) map[string]any {
	m, _ := c.Get(contextAuditFields).(map[string]any)
	return m
}

// ModuleOf is the module whose route serves the request ("" for the
// server's own and unrouted paths), as the route table recorded it.
func ModuleOf(c echo.Context) string {
	s, _ := c.Get(ContextModule).(string)
	return s
}
