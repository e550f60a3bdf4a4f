package app

import (
	"lakehouse/modules/kit"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// probeMethods are the methods a path is checked for when a request's own
// method has no route there.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete}

// allowedMethods lists the methods that do have a route for path. Echo's
// groups register a catch-all so their middleware (the auth gate) runs for
// unknown paths too; that catch-all answers every method, so a wrong method
// on a known path would look like a 404. Routes whose template is only a
// group catch-all do not count.
func allowedMethods(e *echo.Echo, t *routeTable, path string) []string {
	var allow []string
	for _, m := range probeMethods {
		c := e.NewContext(nil, nil)
		e.Router().Find(m, path, c)
		if !t.isRoute(m, c.Path()) {
			continue
		}
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return allow
}

// isCatchAll reports whether a route template is a group's own catch-all
// ("/v1/*", "/v1") rather than a real route; the fallback when no route
// table is at hand (a server's table knows each group's catch-alls).
func isCatchAll(p string) bool {
	return p == "/*" || p == "/v1/*" || p == "/v1" || strings.HasSuffix(p, "/__catch_all")
}

// methodNotAllowed turns a 404 for a path that exists under other methods
// into a 405 with Allow, as HTTP asks.
func methodNotAllowed(e *echo.Echo, t *routeTable, r *http.Request) *kit.APIError {
	allow := allowedMethods(e, t, r.URL.Path)
	if len(allow) == 0 {
		return nil
	}
	for _, m := range allow {
		if m == r.Method {
			return nil // routed, and the handler itself said 404
		}
	}
	err := kit.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s; allowed: %s",
		r.Method, kit.Truncate(r.URL.Path, 200), strings.Join(allow, ", "))
	err.Header = http.Header{"Allow": []string{strings.Join(allow, ", ")}}
	return err
}
