package apptest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"lakehouse/app"
	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/kit"
)

// login exchanges token for a session cookie on s.
func login(t *testing.T, s *apptest.Server, token string) string {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/session", map[string]string{"token": token}, http.Header{"Authorization": {""}})
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, data)
	}
	for _, c := range resp.Cookies() {
		if c.Name == app.SessionCookie {
			return c.Value
		}
	}
	t.Fatal("login set no cookie")
	return ""
}

// withCookie calls path with the session cookie alone.
func withCookie(t *testing.T, s *apptest.Server, cookie, path string) int {
	t.Helper()
	resp, _ := s.DoHeader(t, "GET", path, nil, http.Header{"Authorization": {""}, "Cookie": {app.SessionCookie + "=" + cookie}})
	return resp.StatusCode
}

// TestSessionsSurviveRestartAndCanBeRevoked: a session outlives a
// restart; an admin sees it (never its cookie), revokes it by id, and
// ends every session of a principal at once; a reader may do neither.
func TestSessionsSurviveRestartAndCanBeRevoked(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Auth.Principals = []config.PrincipalConfig{{Name: "rita", Role: "reader", TokenSHA256: kit.TokenHash("tok-reader")}}
	})
	c1 := login(t, s, "tok-reader")
	c2 := login(t, s, "tok-reader")
	c3 := login(t, s, apptest.Token)
	s = s.Restart(t)
	for _, c := range []string{c1, c2, c3} {
		if code := withCookie(t, s, c, "/v1/catalog/list"); code != 200 {
			t.Fatalf("session after restart: %d", code)
		}
	}
	// The saved file holds no cookie.
	var list struct {
		Sessions []app.SessionInfo `json:"sessions"`
		Count    int               `json:"count"`
	}
	resp, data := s.Do(t, "GET", "/v1/auth/sessions?principal=rita", nil)
	if resp.StatusCode != 200 || json.Unmarshal(data, &list) != nil || list.Count != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, data)
	}
	for _, c := range []string{c1, c2, c3} {
		if strings.Contains(string(data), c) {
			t.Fatal("the session list holds a cookie value")
		}
	}
	// A reader may not list or revoke.
	if resp, _ := s.As("tok-reader").Do(t, "GET", "/v1/auth/sessions", nil); resp.StatusCode != 403 {
		t.Fatalf("reader lists sessions: %d", resp.StatusCode)
	}
	// Revoke one by id: that cookie stops working, the other does not.
	s.JSON(t, "DELETE", "/v1/auth/sessions/"+list.Sessions[0].ID, nil, 200, nil)
	working := 0
	for _, c := range []string{c1, c2} {
		if withCookie(t, s, c, "/v1/catalog/list") == 200 {
			working++
		}
	}
	if working != 1 {
		t.Fatalf("after revoking one of two sessions, %d work", working)
	}
	s.Fail(t, "DELETE", "/v1/auth/sessions/"+list.Sessions[0].ID, nil, 404)
	s.Fail(t, "DELETE", "/v1/auth/sessions", nil, 400)
	// Every session of rita ends; the admin's own stays.
	s.JSON(t, "DELETE", "/v1/auth/sessions?principal=rita", nil, 200, nil)
	for _, c := range []string{c1, c2} {
		if code := withCookie(t, s, c, "/v1/catalog/list"); code != 401 {
			t.Fatalf("rita's session after logout everywhere: %d", code)
		}
	}
	if code := withCookie(t, s, c3, "/v1/catalog/list"); code != 200 {
		t.Fatalf("admin session: %d", code)
	}
	// And it stays revoked across a restart.
	s = s.Restart(t)
	if code := withCookie(t, s, c1, "/v1/catalog/list"); code != 401 {
		t.Fatalf("revoked session after restart: %d", code)
	}
}

// TestPrincipalRotation: a principal's secondary hash is accepted as the
// same principal; a principal dropped from the config loses its tokens
// and sessions at the next start.
func TestPrincipalRotation(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Auth.Principals = []config.PrincipalConfig{{Name: "agent", Role: "reader",
			TokenSHA256: kit.TokenHash("new-tok"), SecondarySHA256: []string{kit.TokenHash("old-tok")}}}
	})
	for _, tok := range []string{"new-tok", "old-tok"} {
		var who struct {
			Principal, Role string
		}
		s.As(tok).JSON(t, "GET", "/v1/session", nil, 200, &who)
		if who.Principal != "agent" || who.Role != "reader" {
			t.Fatalf("%s: %+v", tok, who)
		}
	}
	cookie := login(t, s, "old-tok")
	cfg := *s.Config
	cfg.Auth.Principals = nil
	s.Stop(t)
	cfg.Listen = "127.0.0.1:0"
	s2 := apptest.StartConfig(t, &cfg)
	if resp, _ := s2.As("new-tok").Do(t, "GET", "/v1/catalog/list", nil); resp.StatusCode != 401 {
		t.Fatalf("removed principal's token: %d", resp.StatusCode)
	}
	if code := withCookie(t, s2, cookie, "/v1/catalog/list"); code != 401 {
		t.Fatalf("removed principal's session: %d", code)
	}
}
