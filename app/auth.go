package app

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
)

// ContextPrincipal is the echo context key holding which credential a
// request used: "primary", "secondary:<n>" or "anonymous" (auth off).
const ContextPrincipal = "lakehouse.principal"

// ContextClientIP is the echo context key holding the client address the
// gate decided on (X-Forwarded-For only through a trusted proxy).
const ContextClientIP = "lakehouse.client_ip"

// Gate is the one auth middleware: bearer token (primary, then secondary
// tokens) compared in constant time, plus a CIDR allowlist.
type Gate struct {
	headers  [][]byte // "Bearer <token>", pre-encoded; index 0 = primary (may be nil)
	allowed  []netip.Prefix
	proxies  []netip.Prefix
	sessions *sessionStore // browser sessions (session.go)
	failures *failLimiter  // token guessing is slowed per client address
}

// NewGate builds the gate from the auth section (token already resolved).
func NewGate(a config.AuthConfig) (*Gate, error) {
	allowed, err := config.ParsePrefixes(a.AllowedIPs)
	if err != nil {
		return nil, fmt.Errorf("auth: allowed_ips: %w", err)
	}
	proxies, err := config.ParsePrefixes(a.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("auth: trusted_proxies: %w", err)
	}
	g := &Gate{allowed: allowed, proxies: proxies, sessions: newSessionStore(), failures: newFailLimiter()}
	g.headers = append(g.headers, encodeBearer(a.Token))
	for _, t := range a.SecondaryTokens {
		g.headers = append(g.headers, encodeBearer(t))
	}
	return g, nil
}

func encodeBearer(t string) []byte {
	if t == "" {
		return nil
	}
	return []byte("Bearer " + t)
}

// enabled reports whether any token is configured.
func (g *Gate) enabled() bool {
	for _, h := range g.headers {
		if h != nil {
			return true
		}
	}
	return false
}

// Middleware returns the echo middleware enforcing the gate.
func (g *Gate) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ip, err := g.clientIP(c.Request())
			if err != nil {
				return Errorf(http.StatusForbidden, "forbidden", "%v from trusted proxy %s", err, c.Request().RemoteAddr)
			}
			c.Set(ContextClientIP, ip.String())
			if len(g.allowed) > 0 && !containsAddr(g.allowed, ip) {
				return Errorf(http.StatusForbidden, "forbidden", "client address %s is not in auth.allowed_ips", ip)
			}
			header := c.Request().Header.Get(echo.HeaderAuthorization)
			principal, ok := g.authenticate(header)
			if !ok && header == "" {
				// No bearer header: a browser's session cookie may stand in.
				if principal, ok, err = g.authenticateSession(c); err != nil {
					return err
				}
			}
			if !ok {
				// The throttle answers wrong credentials only: a right one
				// always passes, so failures from a shared address (every
				// user behind one reverse proxy) cannot lock anyone out.
				if e := g.failures.blocked(ip, time.Now()); e != nil {
					return e
				}
				g.failures.fail(ip, time.Now())
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="lakehouse"`)
				return Errorf(http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
			}
			c.Set(ContextPrincipal, principal)
			return next(c)
		}
	}
}

// authenticate compares the header with every configured token in
// constant time, primary first; it never returns early on a mismatch so
// timing does not reveal which slot almost matched.
func (g *Gate) authenticate(header string) (string, bool) {
	if !g.enabled() {
		return "anonymous", true
	}
	got := []byte(header)
	match := -1
	for i, want := range g.headers {
		if want == nil {
			continue
		}
		if subtle.ConstantTimeCompare(got, want) == 1 && match < 0 {
			match = i
		}
	}
	switch {
	case match == 0:
		return "primary", true
	case match > 0:
		return fmt.Sprintf("secondary:%d", match-1), true
	}
	return "", false
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
			return netip.Addr{}, fmt.Errorf("%w %q", errBadForwardedHop, truncate(h, 64))
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
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
