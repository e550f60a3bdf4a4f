package app

import (
	"lakehouse/modules/kit"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// authenticateSession is the gate's second credential: a live session
// cookie (and, for writes, its CSRF token) whose principal is still
// configured. The principal is nil when the request has no live session;
// err is set when it has one but fails the CSRF check.
func (g *Gate) authenticateSession(c echo.Context) (*kit.Principal, error) {
	sess, _, ok := g.sessions.lookup(c.Request())
	if !ok {
		return nil, nil
	}
	p, ok := g.creds.principal(sess.principal)
	if !ok {
		return nil, nil // the principal was removed from the config: its sessions end
	}
	if err := checkCSRF(c.Request(), sess); err != nil {
		return nil, err
	}
	c.Set(kit.ContextCSRF, string(sess.csrf)) // for SubRequest
	return p, nil
}

// clientAllowed applies the gate's address rules alone (the login route
// cannot require a credential, but auth.allowed_ips still holds).
func (g *Gate) clientAllowed(c echo.Context) error {
	ip, err := g.clientIP(c.Request())
	if err != nil {
		return kit.Errorf(http.StatusForbidden, "forbidden", "%v from trusted proxy %s", err, c.Request().RemoteAddr)
	}
	c.Set(kit.ContextClientIP, ip.String())
	if len(g.allowed) > 0 && !containsAddr(g.allowed, ip) {
		return kit.Errorf(http.StatusForbidden, "forbidden", "client address %s is not in auth.allowed_ips", ip)
	}
	return nil
}

// sessionAnswer is the body of every /v1/session answer.
type sessionAnswer struct {
	Authenticated bool       `json:"authenticated"`
	AuthRequired  bool       `json:"auth_required"`
	Principal     string     `json:"principal,omitempty"`
	Role          string     `json:"role,omitempty"`
	Via           string     `json:"via,omitempty"` // "session", "bearer", "in-process" (mcp --as) or "none" (auth off)
	CSRFToken     string     `json:"csrf_token,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

func (g *Gate) setCookie(c echo.Context, value string, maxAge int) {
	r := c.Request()
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		// Behind a TLS-terminating proxy the request arrives as plain HTTP;
		// a spoofed header can only make the cookie stricter.
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	})
}

// mountSessions registers the login, whoami and logout routes. They sit
// outside the gated /v1 group (logging in cannot require being logged
// in) but keep the edge's other rules: same-origin writes, the JSON media
// type and body cap, and the audit trail.
func mountSessions(e *echo.Echo, g *Gate, mw ...echo.MiddlewareFunc) {
	e.POST("/v1/session", g.login, mw...)
	e.GET("/v1/session", g.whoami, mw...)
	e.DELETE("/v1/session", g.logout, mw...)
}

// login exchanges a token for a session cookie.
func (g *Gate) login(c echo.Context) error {
	if err := g.clientAllowed(c); err != nil {
		return err
	}
	if !g.enabled() {
		c.Set(kit.ContextPrincipal, kit.Anonymous.Name)
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, Principal: kit.Anonymous.Name, Role: kit.Anonymous.Role.String(), Via: "none"})
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := kit.DecodeJSON(c.Request().Body, &req); err != nil {
		return err
	}
	resolved, _ := c.Get(kit.ContextClientIP).(string) // the gate's view, proxies unwrapped
	ip, _ := netip.ParseAddr(resolved)
	if !ip.IsValid() {
		ip = parseHostAddr(c.Request().RemoteAddr)
	}
	p, ok := g.creds.match(req.Token)
	if !ok {
		if e := g.failures.blocked(ip, time.Now()); e != nil {
			return e // wrong tokens only: a right one always logs in
		}
		g.failures.fail(ip, time.Now())
		return kit.Errorf(http.StatusUnauthorized, "unauthorized", "invalid token")
	}
	id, sess, err := g.sessions.create(p.Name, ip.String())
	if err != nil {
		return err
	}
	c.Set(kit.ContextPrincipal, p.Name)
	g.setCookie(c, id, int(sessionTTL.Seconds()))
	exp := sess.expires.UTC()
	return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: p.Name, Role: p.Role.String(),
		Via: "session", CSRFToken: string(sess.csrf), ExpiresAt: &exp})
}

// whoami tells the page whether it must ask for the token, and hands a
// logged-in page its CSRF token (after a reload, for instance).
func (g *Gate) whoami(c echo.Context) error {
	if err := g.clientAllowed(c); err != nil {
		return err
	}
	if !g.enabled() {
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, Principal: kit.Anonymous.Name, Role: kit.Anonymous.Role.String(), Via: "none"})
	}
	if name, ok := c.Request().Context().Value(inProcessKey{}).(string); ok {
		if p, ok := g.creds.principal(name); ok {
			return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: p.Name, Role: p.Role.String(), Via: "in-process"})
		}
		return c.JSON(http.StatusOK, sessionAnswer{AuthRequired: true})
	}
	if sess, _, ok := g.sessions.lookup(c.Request()); ok {
		if p, ok := g.creds.principal(sess.principal); ok {
			exp := sess.expires.UTC()
			return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: p.Name, Role: p.Role.String(),
				Via: "session", CSRFToken: string(sess.csrf), ExpiresAt: &exp})
		}
	}
	if p, ok := g.authenticate(c.Request().Header.Get(echo.HeaderAuthorization)); ok {
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: p.Name, Role: p.Role.String(), Via: "bearer"})
	}
	return c.JSON(http.StatusOK, sessionAnswer{AuthRequired: true})
}

// logout ends the session (CSRF token required) and clears the cookie;
// with ?everywhere=true it ends every session of the same principal
// ("log out everywhere").
func (g *Gate) logout(c echo.Context) error {
	if sess, key, ok := g.sessions.lookup(c.Request()); ok {
		if err := checkCSRF(c.Request(), sess); err != nil {
			return err
		}
		c.Set(kit.ContextPrincipal, sess.principal)
		everywhere := c.QueryParam("everywhere") == "true"
		if _, err := g.sessions.delete(func(k [32]byte, s *session) bool {
			return k == key || everywhere && s.principal == sess.principal
		}); err != nil {
			return err
		}
	}
	g.setCookie(c, "", -1)
	return c.NoContent(http.StatusNoContent)
}

// sessionList is GET /v1/auth/sessions' answer.
type sessionList struct {
	Sessions []SessionInfo `json:"sessions"`
	Count    int           `json:"count"`
}

// mountSessionAdmin registers the admins' session routes inside the gated
// /v1 group: list every live session (?principal= filters), revoke one by
// its id, or every session of a principal (?principal=, required, so a
// bare DELETE cannot end everyone's by accident).
func (t *routeTable) mountSessionAdmin(e *echo.Echo, api *echo.Group, g *Gate) error {
	return t.server(e, func() {
		api.GET("/auth/sessions", func(c echo.Context) error {
			who := c.QueryParam("principal")
			out := []SessionInfo{}
			for _, s := range g.sessions.list() {
				if who == "" || s.Principal == who {
					out = append(out, s)
				}
			}
			return c.JSON(http.StatusOK, sessionList{Sessions: out, Count: len(out)})
		})
		api.DELETE("/auth/sessions/:id", func(c echo.Context) error {
			id := c.Param("id")
			n, err := g.sessions.delete(func(k [32]byte, _ *session) bool { return sessionID(k) == id })
			if err != nil {
				return err
			}
			if n == 0 {
				return kit.Errorf(http.StatusNotFound, "not_found", "no live session %q", kit.Truncate(id, 32))
			}
			return c.JSON(http.StatusOK, map[string]int{"revoked": n})
		})
		api.DELETE("/auth/sessions", func(c echo.Context) error {
			who := c.QueryParam("principal")
			if who == "" {
				return kit.Errorf(http.StatusBadRequest, "bad_request", "name the principal whose sessions end: ?principal=NAME")
			}
			n, err := g.sessions.delete(func(_ [32]byte, s *session) bool { return s.principal == who })
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, map[string]int{"revoked": n})
		})
	}, map[string]kit.Perm{
		"GET /v1/auth/sessions":        kit.Need(kit.RoleAdmin),
		"DELETE /v1/auth/sessions/:id": kit.Need(kit.RoleAdmin),
		"DELETE /v1/auth/sessions":     kit.Need(kit.RoleAdmin),
	})
}
