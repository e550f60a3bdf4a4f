package app

import (
	"lakehouse/modules/kit"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// Browser-facing defences that hold on every route, whatever module serves
// it. A lakehouse in development mode (loopback, no token) is reachable by
// any web page the user opens, so the server itself must refuse what a
// browser can be tricked into sending: cross-site state changes (CSRF),
// requests for a foreign host name that resolves to 127.0.0.1 (DNS
// rebinding), and form-encoded bodies posing as JSON.

// securityHeaders sets the headers that keep our pages and answers from
// being framed, sniffed into another type, or leaking the URL onwards.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			// The UI is our own static files and calls only our own API;
			// nothing else may run, load, frame it or receive its forms.
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
				"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "+
				"form-action 'self'; frame-ancestors 'none'")
			return next(c)
		}
	}
}

// loopbackHostOnly guards development mode against DNS rebinding: with no
// token the only thing keeping other sites out is that they cannot name
// our host, so any Host header other than a loopback name is refused.
func loopbackHostOnly() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() == "/health" {
				return next(c)
			}
			if !isLoopbackHost(c.Request().Host) {
				return kit.Errorf(http.StatusForbidden, "forbidden_host",
					"host %q is not a loopback name; without a token lakehouse answers only localhost, 127.0.0.1 and [::1] "+
						"(set auth.token to serve other host names)", kit.Truncate(c.Request().Host, 128))
			}
			return next(c)
		}
	}
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOriginWrites refuses state-changing requests a browser marks as
// coming from another site: Sec-Fetch-Site other than same-origin/none, or
// an Origin whose host is not the one the request was sent to. Clients
// that are not browsers send neither header and are unaffected.
func sameOriginWrites() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !kit.StateChanging(r.Method) {
				return next(c)
			}
			switch site := r.Header.Get("Sec-Fetch-Site"); site {
			case "", "same-origin", "none":
			default:
				return kit.Errorf(http.StatusForbidden, "cross_site",
					"cross-site %s refused (Sec-Fetch-Site: %s): lakehouse accepts writes only from its own pages and non-browser clients",
					r.Method, kit.Truncate(site, 32))
			}
			if origin := r.Header.Get("Origin"); origin != "" {
				u, err := url.Parse(origin)
				if origin == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
					return kit.Errorf(http.StatusForbidden, "cross_site",
						"cross-origin %s from %q refused: lakehouse accepts writes only from its own origin",
						r.Method, kit.Truncate(origin, 128))
				}
			}
			return next(c)
		}
	}
}
