package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/internal/client"
	"lakehouse/modules/kit"
)

// panicky is a module whose routes misbehave in the ways the server must
// contain: a panic and an oversized body.
type panicky struct{}

func (panicky) Name() string                                   { return "storage" }
func (panicky) Deps() []string                                 { return nil }
func (panicky) Init(_ context.Context, _ *kit.Container) error { return nil }
func (panicky) RoutePerms() map[string]kit.Perm {
	perms := map[string]kit.Perm{}
	for _, k := range []string{"GET /boom", "POST /echo", "POST /big", "GET /fail", "GET /pathy", "POST /raw", "POST /csv"} {
		perms[k] = kit.Need(kit.RoleReader)
	}
	return perms
}

func (panicky) Routes(g *echo.Group) {
	g.GET("/boom", func(c echo.Context) error { panic("kaboom") })
	g.POST("/echo", func(c echo.Context) error {
		var v map[string]any
		if err := c.Bind(&v); err != nil {
			return err
		}
		return c.JSON(200, v)
	})
	g.POST("/big", func(c echo.Context) error {
		var v map[string]any
		if err := c.Bind(&v); err != nil {
			return err
		}
		return c.JSON(200, map[string]int{"keys": len(v)})
	}, kit.BodyLimit(8<<20))
	g.GET("/fail", func(c echo.Context) error {
		return fmt.Errorf("open /srv/secret/data/objects/x: permission denied")
	})
	g.GET("/pathy", func(c echo.Context) error {
		return kit.BadRequest("cannot read %s", filepath.Join(os.TempDir(), "lakehouse-data", "objects", "datasets", "x.parquet"))
	})
	g.POST("/raw", func(c echo.Context) error {
		data, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return kit.BadRequest("read: %v", err) // a handler that turns every read failure into a 400
		}
		return c.JSON(200, map[string]int{"bytes": len(data)})
	})
	g.POST("/csv", func(c echo.Context) error {
		data, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.JSON(200, map[string]int{"bytes": len(data)})
	}, kit.MediaTypes("text/csv", "multipart/form-data"))
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	return buildServer(t, config.Default(), nil)
}

// buildServer boots the panicky fixture module with cfg and builds the
// server over it (not listening): the one setup every app test shares.
func buildServer(t *testing.T, cfg *config.Config, log *slog.Logger) *Server {
	t.Helper()
	if cfg.DataDir == config.Default().DataDir {
		cfg.DataDir = t.TempDir() // the session store writes under it
	}
	c := kit.NewContainer(cfg, log)
	if err := c.Register(panicky{}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.Plan([]string{"storage"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(t.Context(), plan); err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(c, []string{"storage"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(s *Server, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Host = "127.0.0.1:3110" // development mode answers loopback host names only
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, req)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	var e client.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Details == nil {
		t.Fatalf("not the error shape: %s (%v)", rec.Body, err)
	}
	return e.Error.Code, e.Error.Message
}

func TestPanicBecomes500JSONAndServerSurvives(t *testing.T) {
	s := newTestServer(t)
	rec := serve(s, "GET", "/v1/storage/boom", nil)
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	// The cause goes to the log, never to the client: only the request id.
	if code, msg := decodeError(t, rec); code != "internal" || strings.Contains(msg, "kaboom") ||
		!strings.Contains(msg, rec.Header().Get("X-Request-Id")) {
		t.Fatalf("error = %s %s", code, msg)
	}
	if rec := serve(s, "GET", "/health", nil); rec.Code != 200 {
		t.Fatalf("health after panic: %d", rec.Code)
	}
}

func TestEveryErrorHasTheOneShape(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		method, path string
		body         []byte
		status       int
		code         string
	}{
		{"GET", "/v1/nothing-here", nil, 404, "not_found"},
		{"GET", "/nothing-here", nil, 404, "not_found"},
		{"POST", "/v1/storage/echo", []byte(`{"a":`), 400, "bad_request"},
		{"POST", "/v1/storage/echo", bytes.Repeat([]byte(" "), 5<<20), 413, "too_large"},
	} {
		rec := serve(s, tc.method, tc.path, tc.body)
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, rec.Code, tc.status, rec.Body)
			continue
		}
		if code, _ := decodeError(t, rec); code != tc.code {
			t.Errorf("%s %s: code %q, want %q", tc.method, tc.path, code, tc.code)
		}
	}
}

func TestRouteCanRaiseBodyLimit(t *testing.T) {
	s := newTestServer(t)
	big := []byte(`{"pad":"` + strings.Repeat("x", 5<<20) + `"}`)
	if rec := serve(s, "POST", "/v1/storage/echo", big); rec.Code != 413 {
		t.Fatalf("default cap: %d", rec.Code)
	}
	if rec := serve(s, "POST", "/v1/storage/big", big); rec.Code != 200 {
		t.Fatalf("raised cap: %d %s", rec.Code, rec.Body)
	}
	// Chunked (no Content-Length) bodies are capped while streaming.
	req := httptest.NewRequest("POST", "/v1/storage/echo", strings.NewReader(string(big)))
	req.ContentLength = -1
	req.Host = "127.0.0.1"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("chunked over cap: %d", rec.Code)
	}
}

func TestRequestIDOnEveryResponse(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/health", "/v1/storage/boom", "/v1/nothing"} {
		if rec := serve(s, "GET", p, nil); rec.Header().Get(echo.HeaderXRequestID) == "" {
			t.Errorf("%s: no %s header", p, echo.HeaderXRequestID)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
