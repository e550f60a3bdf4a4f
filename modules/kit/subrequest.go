package kit

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// ContextCSRF is the echo context key holding the CSRF token of the
// session that authenticated the request (set by the gate), which
// SubRequest passes on with a state-changing sub-request.
const ContextCSRF = "lakehouse.session_csrf"

// CSRFHeader carries the session's CSRF token on cookie-authenticated writes.
const CSRFHeader = "X-CSRF-Token"

// SubRequest serves method path with body through the whole server again
// — gate, limits, the target route's own checks — on behalf of the
// request in c, writing the answer to w. It lets one route reuse another
// instead of reaching into its module (the workbench's GET export streams
// POST /v1/sql's answer). The sub-request carries the caller's
// credentials (bearer header, or session cookie plus the session's CSRF
// token, which only a gate-approved request has in its context), client
// address, host and request id, so it can do nothing the caller could not.
func SubRequest(c echo.Context, w http.ResponseWriter, method, path, contentType string, body io.Reader) {
	parent := c.Request()
	r, err := http.NewRequestWithContext(parent.Context(), method, path, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.RemoteAddr, r.Host, r.TLS = parent.RemoteAddr, parent.Host, parent.TLS
	for _, h := range []string{echo.HeaderAuthorization, "Cookie", echo.HeaderXForwardedFor, "X-Forwarded-Proto"} {
		if v := parent.Header.Values(h); len(v) > 0 {
			r.Header[h] = v
		}
	}
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		r.Header.Set(echo.HeaderXRequestID, id)
	}
	if contentType != "" {
		r.Header.Set(echo.HeaderContentType, contentType)
	}
	if csrf, ok := c.Get(ContextCSRF).(string); ok && csrf != "" && StateChanging(method) {
		r.Header.Set(CSRFHeader, csrf)
	}
	c.Echo().ServeHTTP(w, r)
}
