package app

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Browser sessions: the web UI asks for the token once and exchanges it
// for an HttpOnly, SameSite=Strict cookie, so no script (ours or an
// injected one) can read the credential. A cookie is sent by the browser
// on its own, which is what CSRF abuses; SameSite=Strict and the edge's
// same-origin check already stop cross-site writes, and as a third line a
// cookie-authenticated write must also carry the session's CSRF token in
// the X-CSRF-Token header, which only our own page can read (from the
// login answer or GET /v1/session). Bearer-token clients are unaffected.

const (
	// SessionCookie is the name of the session cookie.
	SessionCookie = "lakehouse_session"
	// CSRFHeader carries the session's CSRF token on cookie-authenticated writes.
	CSRFHeader = "X-CSRF-Token"
	// sessionTTL is a session's absolute lifetime: a day's work.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the store; the oldest session goes first.
	maxSessions = 10_000
)

type session struct {
	principal string
	csrf      []byte
	expires   time.Time
}

// sessionStore maps the SHA-256 of a session id to the session. Keying
// by the hash means the map never holds a usable cookie value, and the
// lookup's timing depends on the hash, not on how much of the id an
// attacker guessed.
type sessionStore struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	now func() time.Time
}

func newSessionStore() *sessionStore {
	return &sessionStore{m: map[[32]byte]*session{}, now: time.Now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for principal and returns its id and CSRF token.
func (s *sessionStore) create(principal string) (id string, sess *session) {
	id = randomToken()
	sess = &session{principal: principal, csrf: []byte(randomToken()), expires: s.now().Add(sessionTTL)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	for len(s.m) >= maxSessions {
		var oldest [32]byte
		var t time.Time
		for k, v := range s.m {
			if t.IsZero() || v.expires.Before(t) {
				oldest, t = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// lookup returns the live session for the request's cookie, if any.
func (s *sessionStore) lookup(r *http.Request) (*session, [32]byte, bool) {
	if s == nil { // a Gate built without NewGate has no sessions
		return nil, [32]byte{}, false
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, [32]byte{}, false
	}
	key := sha256.Sum256([]byte(ck.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return nil, key, false
	}
	if s.now().After(sess.expires) {
		delete(s.m, key)
		return nil, key, false
	}
	return sess, key, true
}

func (s *sessionStore) delete(key [32]byte) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// checkCSRF requires the session's token on a state-changing request.
func checkCSRF(r *http.Request, sess *session) error {
	if !isStateChanging(r.Method) {
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), sess.csrf) != 1 {
		return Errorf(http.StatusForbidden, "csrf",
			"a %s with the session cookie must carry the session's CSRF token in the %s header (GET /v1/session returns it)",
			r.Method, CSRFHeader)
	}
	return nil
}

// authenticateSession is the gate's second credential: a live session
// cookie (and, for writes, its CSRF token). ok is false when the request
// has no live session; err is set when it has one but fails the CSRF check.
func (g *Gate) authenticateSession(c echo.Context) (principal string, ok bool, err error) {
	sess, _, ok := g.sessions.lookup(c.Request())
	if !ok {
		return "", false, nil
	}
	if err := checkCSRF(c.Request(), sess); err != nil {
		return "", false, err
	}
	c.Set(contextSession, sess) // for SubRequest
	return sess.principal, true, nil
}

// clientAllowed applies the gate's address rules alone (the login route
// cannot require a credential, but auth.allowed_ips still holds).
func (g *Gate) clientAllowed(c echo.Context) error {
	ip, err := g.clientIP(c.Request())
	if err != nil {
		return Errorf(http.StatusForbidden, "forbidden", "%v from trusted proxy %s", err, c.Request().RemoteAddr)
	}
	c.Set(ContextClientIP, ip.String())
	if len(g.allowed) > 0 && !containsAddr(g.allowed, ip) {
		return Errorf(http.StatusForbidden, "forbidden", "client address %s is not in auth.allowed_ips", ip)
	}
	return nil
}

// sessionAnswer is the body of every /v1/session answer.
type sessionAnswer struct {
	Authenticated bool       `json:"authenticated"`
	AuthRequired  bool       `json:"auth_required"`
	Principal     string     `json:"principal,omitempty"`
	Via           string     `json:"via,omitempty"` // "session", "bearer" or "none" (auth off)
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
		c.Set(ContextPrincipal, "anonymous")
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, Principal: "anonymous", Via: "none"})
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := DecodeJSON(c.Request().Body, &req); err != nil {
		return err
	}
	ip, _ := netip.ParseAddr(stringOr(c.Get(ContextClientIP), ""))
	if !ip.IsValid() {
		ip = parseHostAddr(c.Request().RemoteAddr)
	}
	principal, ok := g.authenticate("Bearer " + req.Token)
	if req.Token == "" || !ok {
		if e := g.failures.blocked(ip, time.Now()); e != nil {
			return e // wrong tokens only: a right one always logs in
		}
		g.failures.fail(ip, time.Now())
		return Errorf(http.StatusUnauthorized, "unauthorized", "invalid token")
	}
	id, sess := g.sessions.create(principal)
	c.Set(ContextPrincipal, principal)
	g.setCookie(c, id, int(sessionTTL.Seconds()))
	exp := sess.expires.UTC()
	return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: principal,
		Via: "session", CSRFToken: string(sess.csrf), ExpiresAt: &exp})
}

// whoami tells the page whether it must ask for the token, and hands a
// logged-in page its CSRF token (after a reload, for instance).
func (g *Gate) whoami(c echo.Context) error {
	if err := g.clientAllowed(c); err != nil {
		return err
	}
	if !g.enabled() {
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, Principal: "anonymous", Via: "none"})
	}
	if sess, _, ok := g.sessions.lookup(c.Request()); ok {
		exp := sess.expires.UTC()
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: sess.principal,
			Via: "session", CSRFToken: string(sess.csrf), ExpiresAt: &exp})
	}
	if p, ok := g.authenticate(c.Request().Header.Get(echo.HeaderAuthorization)); ok {
		return c.JSON(http.StatusOK, sessionAnswer{Authenticated: true, AuthRequired: true, Principal: p, Via: "bearer"})
	}
	return c.JSON(http.StatusOK, sessionAnswer{AuthRequired: true})
}

// logout ends the session (CSRF token required) and clears the cookie.
func (g *Gate) logout(c echo.Context) error {
	if sess, key, ok := g.sessions.lookup(c.Request()); ok {
		if err := checkCSRF(c.Request(), sess); err != nil {
			return err
		}
		c.Set(ContextPrincipal, sess.principal)
		g.sessions.delete(key)
	}
	g.setCookie(c, "", -1)
	return c.NoContent(http.StatusNoContent)
}
