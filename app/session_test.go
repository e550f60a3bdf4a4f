package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

func newTokenServer(t *testing.T, token string) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Auth.Token = token
	return buildServer(t, cfg, discardLogger())
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, rec.Header()["Set-Cookie"])
	return nil
}

func login(t *testing.T, s *Server, token string) (*http.Cookie, sessionAnswer) {
	t.Helper()
	rec := request(s, "POST", "/v1/session", `{"token":"`+token+`"}`, "Content-Type", "application/json",
		"Origin", "http://127.0.0.1:3110", "Sec-Fetch-Site", "same-origin")
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var a sessionAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return sessionCookie(t, rec), a
}

func TestSessionCookieStandsInForTheToken(t *testing.T) {
	s := newTokenServer(t, "s3cret")
	// No credential: the gate refuses.
	if rec := request(s, "GET", "/ready", ""); rec.Code != 401 {
		t.Fatalf("no credential: %d", rec.Code)
	}
	// A wrong token does not log in.
	if rec := request(s, "POST", "/v1/session", `{"token":"nope"}`, "Content-Type", "application/json"); rec.Code != 401 {
		t.Fatalf("wrong token: %d %s", rec.Code, rec.Body)
	}
	ck, ans := login(t, s, "s3cret")
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.MaxAge <= 0 {
		t.Errorf("cookie attributes: %+v", ck)
	}
	if ans.CSRFToken == "" || ans.Principal != "admin" || !ans.Authenticated || strings.Contains(ans.CSRFToken, ck.Value) {
		t.Fatalf("login answer: %+v", ans)
	}
	cookie := SessionCookie + "=" + ck.Value

	// Reads pass with the cookie alone.
	if rec := request(s, "GET", "/ready", "", "Cookie", cookie); rec.Code != 200 {
		t.Fatalf("read with cookie: %d %s", rec.Code, rec.Body)
	}
	// Writes need the CSRF token too.
	if rec := request(s, "POST", "/v1/storage/echo", `{"a":1}`, "Cookie", cookie, "Content-Type", "application/json"); rec.Code != 403 ||
		!strings.Contains(rec.Body.String(), `"csrf"`) {
		t.Fatalf("write without CSRF token: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "POST", "/v1/storage/echo", `{"a":1}`, "Cookie", cookie, "Content-Type", "application/json",
		kit.CSRFHeader, "wrong"); rec.Code != 403 {
		t.Fatalf("write with a wrong CSRF token: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "POST", "/v1/storage/echo", `{"a":1}`, "Cookie", cookie, "Content-Type", "application/json",
		kit.CSRFHeader, ans.CSRFToken); rec.Code != 200 {
		t.Fatalf("write with the CSRF token: %d %s", rec.Code, rec.Body)
	}
	// A forged cookie is nothing.
	if rec := request(s, "GET", "/ready", "", "Cookie", SessionCookie+"=forged"); rec.Code != 401 {
		t.Fatalf("forged cookie: %d", rec.Code)
	}
	// The bearer path is unchanged: no CSRF token for bearer writes.
	if rec := request(s, "POST", "/v1/storage/echo", `{"a":1}`, "Authorization", "Bearer s3cret", "Content-Type", "application/json"); rec.Code != 200 {
		t.Fatalf("bearer write: %d %s", rec.Code, rec.Body)
	}
	// A wrong bearer header is not rescued by a valid cookie.
	if rec := request(s, "GET", "/ready", "", "Authorization", "Bearer nope", "Cookie", cookie); rec.Code != 401 {
		t.Fatalf("wrong bearer + cookie: %d", rec.Code)
	}

	// whoami returns the CSRF token to a reloaded page.
	rec := request(s, "GET", "/v1/session", "", "Cookie", cookie)
	var who sessionAnswer
	_ = json.Unmarshal(rec.Body.Bytes(), &who)
	if rec.Code != 200 || !who.Authenticated || who.CSRFToken != ans.CSRFToken {
		t.Fatalf("whoami: %d %s", rec.Code, rec.Body)
	}
	// Logout needs the CSRF token, then the cookie is dead.
	if rec := request(s, "DELETE", "/v1/session", "", "Cookie", cookie); rec.Code != 403 {
		t.Fatalf("logout without CSRF: %d", rec.Code)
	}
	rec = request(s, "DELETE", "/v1/session", "", "Cookie", cookie, kit.CSRFHeader, ans.CSRFToken)
	if rec.Code != 204 || sessionCookie(t, rec).MaxAge >= 0 {
		t.Fatalf("logout: %d %v", rec.Code, rec.Header()["Set-Cookie"])
	}
	if rec := request(s, "GET", "/ready", "", "Cookie", cookie); rec.Code != 401 {
		t.Fatalf("after logout: %d", rec.Code)
	}
	rec = request(s, "GET", "/v1/session", "", "Cookie", cookie)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"authenticated":false`) {
		t.Fatalf("whoami after logout: %d %s", rec.Code, rec.Body)
	}
}

func TestLoginIsRefusedCrossSite(t *testing.T) {
	s := newTokenServer(t, "s3cret")
	rec := request(s, "POST", "/v1/session", `{"token":"s3cret"}`, "Content-Type", "application/json",
		"Origin", "https://evil.example")
	if rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("cross-site login: %d %v", rec.Code, rec.Header()["Set-Cookie"])
	}
	if rec := request(s, "POST", "/v1/session", `token=s3cret`, "Content-Type", "application/x-www-form-urlencoded"); rec.Code != 415 {
		t.Fatalf("form login: %d %s", rec.Code, rec.Body)
	}
}

func TestSessionsExpire(t *testing.T) {
	s := newTokenServer(t, "s3cret")
	ck, _ := login(t, s, "s3cret")
	g := sessionsOf(t, s)
	g.now = func() time.Time { return time.Now().Add(sessionTTL + time.Minute) }
	if rec := request(s, "GET", "/ready", "", "Cookie", SessionCookie+"="+ck.Value); rec.Code != 401 {
		t.Fatalf("expired session: %d", rec.Code)
	}
}

func TestDevModeNeedsNoLogin(t *testing.T) {
	s := newTestServer(t)
	rec := request(s, "GET", "/v1/session", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"auth_required":false`) ||
		!strings.Contains(rec.Body.String(), `"authenticated":true`) {
		t.Fatalf("dev whoami: %d %s", rec.Code, rec.Body)
	}
}

// sessionsOf digs the gate's store out of the login route's handler.
func sessionsOf(t *testing.T, s *Server) *sessionStore {
	t.Helper()
	if s.sessions == nil {
		t.Fatal("server has no session store")
	}
	return s.sessions
}
