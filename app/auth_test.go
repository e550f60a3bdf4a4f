package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// gateServer is a minimal echo with the gate in front of one route that
// echoes the principal and client address the gate decided on.
func gateServer(t *testing.T, a config.AuthConfig) *echo.Echo {
	t.Helper()
	g, err := NewGate(a)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(nil, kit.PathScrubber{})
	e.GET("/v1/x", func(c echo.Context) error {
		return c.String(200, c.Get(kit.ContextPrincipal).(string)+"@"+c.Get(kit.ContextClientIP).(string))
	}, g.Middleware())
	return e
}

func call(e *echo.Echo, remote, auth string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
	req.RemoteAddr = remote
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestGateTokens(t *testing.T) {
	e := gateServer(t, config.AuthConfig{Token: "primary-tok", SecondaryTokens: []string{"old-tok", "older-tok"}})
	cases := []struct {
		auth   string
		status int
		body   string
	}{
		{"Bearer primary-tok", 200, "admin@"},
		{"Bearer old-tok", 200, "admin@"},
		{"Bearer older-tok", 200, "admin@"},
		{"Bearer wrong", 401, ""},
		{"Bearer primary-to", 401, ""},
		{"Bearer primary-tokk", 401, ""},
		{"bearer primary-tok", 401, ""},
		{"primary-tok", 401, ""},
		{"", 401, ""},
	}
	for _, tc := range cases {
		rec := call(e, "127.0.0.1:1234", tc.auth)
		if rec.Code != tc.status || !strings.HasPrefix(rec.Body.String(), tc.body) {
			t.Errorf("auth %q: %d %s, want %d %s", tc.auth, rec.Code, rec.Body, tc.status, tc.body)
		}
		if tc.status == 401 {
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("auth %q: 401 without WWW-Authenticate: Bearer", tc.auth)
			}
			if !strings.Contains(rec.Body.String(), `"code":"unauthorized"`) {
				t.Errorf("401 body = %s", rec.Body)
			}
		}
	}
}

func TestGateSecondaryOnly(t *testing.T) {
	e := gateServer(t, config.AuthConfig{SecondaryTokens: []string{"rotating"}})
	if rec := call(e, "127.0.0.1:1", "Bearer rotating"); rec.Code != 200 {
		t.Fatalf("secondary-only token refused: %d", rec.Code)
	}
	if rec := call(e, "127.0.0.1:1", ""); rec.Code != 401 {
		t.Fatalf("no token with secondary configured: %d (auth must stay on)", rec.Code)
	}
	if rec := call(e, "127.0.0.1:1", "Bearer "); rec.Code != 401 {
		t.Fatalf("empty bearer accepted: %d", rec.Code)
	}
}

func TestGateDevelopmentModeIsAnonymous(t *testing.T) {
	e := gateServer(t, config.AuthConfig{})
	if rec := call(e, "127.0.0.1:1", ""); rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "anonymous@") {
		t.Fatalf("dev mode: %d %s", rec.Code, rec.Body)
	}
}

func TestGateAllowedIPs(t *testing.T) {
	e := gateServer(t, config.AuthConfig{Token: "t", AllowedIPs: []string{"10.1.0.0/16", "2001:db8::/32", "192.0.2.7"}})
	cases := []struct {
		remote string
		status int
	}{
		{"10.1.2.3:5000", 200},
		{"10.2.0.1:5000", 403},
		{"[2001:db8::1]:5000", 200},
		{"[2001:db9::1]:5000", 403},
		{"192.0.2.7:1", 200},
		{"192.0.2.8:1", 403},
		{"[::ffff:10.1.9.9]:1", 200}, // IPv4-mapped IPv6 is the IPv4 address
	}
	for _, tc := range cases {
		if rec := call(e, tc.remote, "Bearer t"); rec.Code != tc.status {
			t.Errorf("%s: %d, want %d (%s)", tc.remote, rec.Code, tc.status, rec.Body)
		}
	}
	// The allowlist is checked before the token: outsiders learn nothing.
	if rec := call(e, "10.9.9.9:1", ""); rec.Code != 403 {
		t.Errorf("outsider without token: %d, want 403", rec.Code)
	}
}

func TestGateForwardedForOnlyFromTrustedProxies(t *testing.T) {
	e := gateServer(t, config.AuthConfig{Token: "t", AllowedIPs: []string{"203.0.113.0/24"}, TrustedProxies: []string{"127.0.0.1/32"}})
	// From a trusted proxy, the client address comes from X-Forwarded-For.
	rec := call(e, "127.0.0.1:9", "Bearer t", "X-Forwarded-For", "203.0.113.5")
	if rec.Code != 200 || rec.Body.String() != "admin@203.0.113.5" {
		t.Fatalf("trusted proxy: %d %s", rec.Code, rec.Body)
	}
	// A spoofed left-most hop does not help: the right-most untrusted hop counts.
	if rec := call(e, "127.0.0.1:9", "Bearer t", "X-Forwarded-For", "203.0.113.5, 198.51.100.1"); rec.Code != 403 {
		t.Fatalf("spoofed chain: %d", rec.Code)
	}
	// From an untrusted peer, X-Forwarded-For is ignored.
	if rec := call(e, "198.51.100.9:9", "Bearer t", "X-Forwarded-For", "203.0.113.5"); rec.Code != 403 {
		t.Fatalf("untrusted peer's XFF honoured: %d", rec.Code)
	}
}

func TestCheckListen(t *testing.T) {
	none := config.AuthConfig{TokenEnv: "AUTH_TOKEN"}
	for _, addr := range []string{"127.0.0.1:3110", "[::1]:3110", "localhost:3110", "127.9.9.9:1"} {
		if err := CheckListen(addr, none); err != nil {
			t.Errorf("%s without token refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:3110", ":3110", "[::]:3110", "192.168.1.5:3110"} {
		err := CheckListen(addr, none)
		if err == nil || !strings.Contains(err.Error(), "auth.token") || !strings.Contains(err.Error(), "AUTH_TOKEN") {
			t.Errorf("%s without token: err = %v", addr, err)
		}
	}
	if err := CheckListen("0.0.0.0:3110", config.AuthConfig{Token: "x"}); err != nil {
		t.Errorf("with token: %v", err)
	}
	if err := CheckListen("0.0.0.0:3110", config.AuthConfig{SecondaryTokens: []string{"x"}}); err != nil {
		t.Errorf("with secondary token: %v", err)
	}
}

// A forged first X-Forwarded-For line plus the proxy's real hop on a second
// line must not pass: every line counts, walked right to left.
func TestGateForwardedForJoinsEveryHeaderLine(t *testing.T) {
	g, err := NewGate(config.AuthConfig{Token: "t", AllowedIPs: []string{"203.0.113.0/24"}, TrustedProxies: []string{"127.0.0.1/32"}})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(nil, kit.PathScrubber{})
	e.GET("/v1/x", func(c echo.Context) error { return c.String(200, c.Get(kit.ContextClientIP).(string)) }, g.Middleware())
	send := func(lines ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
		req.RemoteAddr = "127.0.0.1:9"
		req.Header.Set("Authorization", "Bearer t")
		for _, l := range lines {
			req.Header.Add("X-Forwarded-For", l)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	// Forged allowed address on line one, the real (disallowed) client on line two.
	if rec := send("203.0.113.5", "198.51.100.1"); rec.Code != 403 {
		t.Fatalf("forged first line honoured: %d %s", rec.Code, rec.Body)
	}
	// The reverse is a legitimate chain through the proxy.
	if rec := send("198.51.100.1", "203.0.113.5"); rec.Code != 200 || rec.Body.String() != "203.0.113.5" {
		t.Fatalf("legit two-line chain: %d %s", rec.Code, rec.Body)
	}
	// An unparsable hop fails closed instead of falling back to the proxy's address.
	for _, bad := range [][]string{{"garbage"}, {"203.0.113.5, not-an-ip"}, {"203.0.113.5", "junk"}} {
		rec := send(bad...)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), "X-Forwarded-For") {
			t.Fatalf("bad hop %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// A hop with a port is still an address.
	if rec := send("203.0.113.7:4444"); rec.Code != 200 || rec.Body.String() != "203.0.113.7" {
		t.Fatalf("hop with port: %d %s", rec.Code, rec.Body)
	}
}

// Token guessing: past 20 failures a minute an address gets 429 for wrong
// tokens; the right token, other addresses, and the window's end are
// unaffected.
func TestGateSlowsTokenGuessing(t *testing.T) {
	e := gateServer(t, config.AuthConfig{Token: "right"})
	for i := 0; i < authFailMax; i++ {
		if rec := call(e, "198.51.100.7:1", fmt.Sprintf("Bearer guess-%d", i)); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	rec := call(e, "198.51.100.7:1", "Bearer guess-x")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("past the failure cap: %d %v", rec.Code, rec.Header())
	}
	if rec := call(e, "198.51.100.8:1", "Bearer right"); rec.Code != 200 {
		t.Fatalf("another address: %d", rec.Code)
	}
	// The right token from the throttled address still passes: behind a
	// reverse proxy every user shares it, and one guesser must not lock
	// everyone out.
	if rec := call(e, "198.51.100.7:1", "Bearer right"); rec.Code != 200 {
		t.Fatalf("the right token from a throttled address: %d", rec.Code)
	}
	if rec := call(e, "198.51.100.7:1", "Bearer guess-y"); rec.Code != 429 {
		t.Fatalf("a wrong token from a throttled address: %d", rec.Code)
	}
	l := newFailLimiter()
	ip := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	for i := 0; i <= authFailMax; i++ {
		l.fail(ip, now)
	}
	if l.blocked(ip, now) == nil || l.blocked(ip, now.Add(authFailWindow)) != nil {
		t.Fatal("the block must hold within the window and lift after it")
	}
}

// TestPrincipalTokensFromEnvAndHash: a principal's token comes from the
// variable token_env names or is known by its hash; each authenticates as
// its principal, and a principal whose variable is unset has no token.
func TestPrincipalTokensFromEnvAndHash(t *testing.T) {
	a := config.AuthConfig{Principals: []config.PrincipalConfig{
		{Name: "envy", Role: "reader", TokenEnv: "ENVY_TOKEN"},
		{Name: "hashed", Role: "writer", TokenSHA256: kit.TokenHash("hash-tok")},
		{Name: "unset", Role: "admin", TokenEnv: "UNSET_TOKEN"},
	}}
	a.ResolveToken(func(k string) string {
		if k == "ENVY_TOKEN" {
			return " env-tok\n"
		}
		return ""
	})
	if !a.Enabled() {
		t.Fatal("principals with tokens do not enable auth")
	}
	e := gateServer(t, a)
	for tok, want := range map[string]string{"env-tok": "envy@", "hash-tok": "hashed@"} {
		if rec := call(e, "127.0.0.1:1", "Bearer "+tok); rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), want) {
			t.Errorf("%s: %d %s", tok, rec.Code, rec.Body)
		}
	}
	for _, tok := range []string{"", "Bearer ", "Bearer " + kit.TokenHash("hash-tok")} {
		if rec := call(e, "127.0.0.1:1", tok); rec.Code != 401 {
			t.Errorf("%q: %d", tok, rec.Code)
		}
	}
}
