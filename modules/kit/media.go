package kit

import (
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// StateChanging is true for the methods a CSRF can abuse.
func StateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// MediaTypes is a route middleware naming the body media types the route
// takes instead of the default, JSON. Routes where raw data flows (object
// PUT, CSV ingest) declare theirs; "*/*" accepts anything.
func MediaTypes(types ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if lb, ok := c.Get(contextBody).(*limitedBody); ok {
				lb.media = types
			}
			return next(c)
		}
	}
}

// jsonMediaTypes is what a route takes unless it says otherwise. A missing
// Content-Type is allowed (non-browser clients often omit it, and no
// browser form or no-preflight fetch can send a body without one).
var jsonMediaTypes = []string{"application/json"}

// mediaAllowed reports whether the Content-Type header value is among the
// allowed types; "+json" suffixes count as JSON.
func mediaAllowed(contentType string, allowed []string) bool {
	if len(allowed) == 0 {
		allowed = jsonMediaTypes
	}
	if strings.TrimSpace(contentType) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		switch {
		case a == "*/*", a == mt:
			return true
		case a == "application/json" && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
			return true
		}
	}
	return false
}
