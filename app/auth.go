package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// Gate is the one auth middleware: a bearer token or a session cookie
// names a principal (tokens compared by their SHA-256, in constant time),
// the CIDR allowlist holds for everyone, and the matched route's declared
// permission is checked against the principal's role and grants.
type Gate struct {
	creds    *credentials
	on       bool // any credential configured
	allowed  []netip.Prefix
	proxies  []netip.Prefix
	sessions *sessionStore // browser sessions (session.go)
	failures *failLimiter  // token guessing is slowed per client address
	routes   *routeTable   // the permissions (nil in a bare unit-test gate: no route checks)
}

// NewGate builds the gate from the auth section (tokens already resolved).
func NewGate(a config.AuthConfig) (*Gate, error) {
	allowed, err := config.ParsePrefixes(a.AllowedIPs)
	if err != nil {
		return nil, fmt.Errorf("auth: allowed_ips: %w", err)
	}
	proxies, err := config.ParsePrefixes(a.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("auth: trusted_proxies: %w", err)
	}
	creds, err := newCredentials(a)
	if err != nil {
		return nil, err
	}
	return &Gate{creds: creds, on: a.Enabled(), allowed: allowed, proxies: proxies,
		sessions: newSessionStore(), failures: newFailLimiter()}, nil
}

// enabled reports whether any token is configured.
func (g *Gate) enabled() bool { return g.on }

type inProcessKey struct{}

// AsPrincipal marks ctx as an in-process call (the MCP server's handler
// transport) acting as the configured principal name. Only code in this
// process can put it in a request's context; nothing on the wire can.
func AsPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, inProcessKey{}, name)
}

// Middleware returns the echo middleware enforcing the gate: who the
// caller is (Authenticate), then whether it may call the matched route
// (Authorize).
func (g *Gate) Middleware() echo.MiddlewareFunc {
	authn, authz := g.Authenticate(), g.Authorize()
	return func(next echo.HandlerFunc) echo.HandlerFunc { return authn(authz(next)) }
}

// Authenticate establishes the request's principal (or refuses it 401/403
// for a missing or wrong credential, an address outside the allowlist).
// The /v1 group runs Authorize after the audit middleware, so a refusal
// for the caller's role or grants is on the audit trail under its name.
func (g *Gate) Authenticate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ip, err := g.clientIP(c.Request())
			if err != nil {
				return kit.Errorf(http.StatusForbidden, "forbidden", "%v from trusted proxy %s", err, c.Request().RemoteAddr)
			}
			c.Set(kit.ContextClientIP, ip.String())
			if len(g.allowed) > 0 && !containsAddr(g.allowed, ip) {
				return kit.Errorf(http.StatusForbidden, "forbidden", "client address %s is not in auth.allowed_ips", ip)
			}
			p, err := g.principalOf(c)
			if err != nil {
				return err
			}
			if p == nil {
				// The throttle answers wrong credentials only: a right one
				// always passes, so failures from a shared address (every
				// user behind one reverse proxy) cannot lock anyone out.
				if e := g.failures.blocked(ip, time.Now()); e != nil {
					return e
				}
				g.failures.fail(ip, time.Now())
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="lakehouse"`)
				return kit.Errorf(http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
			}
			c.Set(kit.ContextPrincipal, p.Name)
			c.SetRequest(c.Request().WithContext(kit.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

// Authorize applies the matched route's declared permission to the
// principal Authenticate established.
func (g *Gate) Authorize() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if g.routes != nil {
				if err := g.routes.authorize(c, kit.PrincipalOf(c.Request().Context())); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}

// principalOf finds who the request acts for: the in-process caller's
// chosen principal, a bearer token, or a session cookie (with its CSRF
// token on writes). nil with no error means no valid credential.
func (g *Gate) principalOf(c echo.Context) (*kit.Principal, error) {
	if !g.enabled() {
		return kit.Anonymous, nil
	}
	if name, ok := c.Request().Context().Value(inProcessKey{}).(string); ok {
		p, ok := g.creds.principal(name)
		if !ok {
			return nil, kit.Errorf(http.StatusForbidden, "forbidden", "no principal %q is configured", name)
		}
		return p, nil
	}
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	if p, ok := g.authenticate(header); ok {
		return p, nil
	}
	if header != "" {
		return nil, nil
	}
	// No bearer header: a browser's session cookie may stand in.
	return g.authenticateSession(c)
}

// authenticate finds the principal of an "Authorization: Bearer <token>"
// header (the scheme is matched exactly, as before).
func (g *Gate) authenticate(header string) (*kit.Principal, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return nil, false
	}
	return g.creds.match(tok)
}

// errBadForwardedHop is returned when a trusted proxy hands us an
// X-Forwarded-For chain with a hop we cannot parse: we cannot know who the
// client is, so the gate fails closed instead of trusting the proxy itself.
var errBadForwardedHop = errors.New("unparsable X-Forwarded-For hop")

// clientIP is the TCP peer, or the right-most untrusted X-Forwarded-For
// hop when the peer is a trusted proxy. Every X-Forwarded-For header line
// counts (RFC 7230 allows a list to be split over lines, and a client can
// forge a first line that a proxy then appends to on a second one), walked
// right to left from the peer; an unparsable hop is an error.
func (g *Gate) clientIP(r *http.Request) (netip.Addr, error) {
	peer := parseHostAddr(r.RemoteAddr)
	if len(g.proxies) == 0 || !containsAddr(g.proxies, peer) {
		return peer, nil
	}
	var hops []string
	for _, line := range r.Header.Values(echo.HeaderXForwardedFor) {
		hops = append(hops, strings.Split(line, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" && i == len(hops)-1 && len(hops) == 1 {
			break // an empty header: no forwarding information, the proxy is the client
		}
		a, err := parseHopAddr(h)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w %q", errBadForwardedHop, kit.Truncate(h, 64))
		}
		if !containsAddr(g.proxies, a) {
			return a, nil
		}
		peer = a
	}
	return peer, nil
}

// parseHopAddr parses one X-Forwarded-For element: a bare address, or the
// forms some proxies emit with a port ("1.2.3.4:5678", "[::1]:80").
func parseHopAddr(h string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), nil
	}
	ap, err := netip.ParseAddrPort(h)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

func parseHostAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func containsAddr(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckListen refuses a non-loopback listen address when no token is
// configured. The error is meant to be printed as is.
func CheckListen(listen string, a config.AuthConfig) error {
	if a.Enabled() {
		return nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without a token: set auth.token in the config "+
		"or the %s environment variable (auth.token_env), or listen on 127.0.0.1", listen, tokenEnvName(a))
}

func tokenEnvName(a config.AuthConfig) string {
	if a.TokenEnv == "" {
		return "AUTH_TOKEN"
	}
	return a.TokenEnv
}
