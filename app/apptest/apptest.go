// Package apptest boots a whole lakehouse process in-process on
// 127.0.0.1:<random port> with a temp data dir, for end-to-end tests of
// any module's routes through the real server, auth gate included.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"lakehouse/app/cli"
	"lakehouse/config"
	"lakehouse/internal/client"
)

// Token is the bearer token test servers use unless an option changes it.
const Token = "test-token"

// Server is a running in-process lakehouse.
type Server struct {
	URL     string
	Token   string
	DataDir string
	Config  *config.Config
	Client  *http.Client

	cancel context.CancelFunc
	done   chan error
}

// Start boots a server on a fresh temp data dir. Options edit the config
// before start (e.g. switch storage to a MinIO endpoint).
func Start(t testing.TB, opts ...func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = Token
	cfg.Server.ShutdownTimeout = config.Duration(5 * time.Second)
	for _, o := range opts {
		o(cfg)
	}
	return StartConfig(t, cfg)
}

// StartConfig boots a server with exactly cfg (Listen should be
// 127.0.0.1:0). The server is stopped when the test ends.
func StartConfig(t testing.TB, cfg *config.Config) *Server {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("apptest: config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("LAKEHOUSE_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- cli.Serve(ctx, cfg, log, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("apptest: server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("apptest: server did not start within 60s")
	}
	s := &Server{
		URL: "http://" + addr, Token: cfg.Auth.Token, DataDir: cfg.DataDir, Config: cfg,
		Client: &http.Client{Timeout: 120 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()},
		cancel: cancel, done: done,
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop shuts the server down gracefully and waits for it (idempotent).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	// The test's client may hold a connection it dialed for a request
	// that another connection served: never used, the server counts it
	// as new, and a graceful shutdown waits 5 s for such a connection's
	// first request (net/http issue 22682), past the drain timeout.
	if tr, ok := s.Client.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("apptest: server stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("apptest: server did not stop within 30s")
	}
}

// Restart stops the server and starts a new one on the same data dir and
// config (a new port).
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	s.Stop(t)
	cfg := *s.Config
	cfg.Listen = "127.0.0.1:0"
	return StartConfig(t, &cfg)
}

// Do sends a request with the bearer token. body may be nil, []byte,
// string, io.Reader or any value (sent as JSON). It returns the response
// (body already read and closed) and the body bytes.
func (s *Server) Do(t testing.TB, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return s.DoHeader(t, method, path, body, nil)
}

// DoHeader is Do with extra headers; an "Authorization" header in h
// replaces the default token ("" removes it).
func (s *Server) DoHeader(t testing.TB, method, path string, body any, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req := client.Request{Method: method, Path: path, Header: h}
	switch b := body.(type) {
	case nil:
	case []byte:
		req.Body = bytes.NewReader(b)
	case string:
		req.Body = strings.NewReader(b)
	case io.Reader:
		req.Body = b
	default:
		req.JSON = b
	}
	resp, err := s.API().Send(context.Background(), req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("apptest: read %s %s: %v", method, path, err)
	}
	return resp, data
}

// API is the API client of the server, with its token (app/client), for
// tests that call routes the way the CLI and MCP do.
func (s *Server) API() *client.Client { return client.New(s.URL, s.Token, s.Client) }

// JSON sends body, requires the status, and decodes the answer into out
// (when out is non-nil).
func (s *Server) JSON(t testing.TB, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	resp, data := s.Do(t, method, path, body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, resp.StatusCode, wantStatus, truncate(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, truncate(data), err)
		}
	}
}

// ErrorBody is the one error shape every route answers with.
type ErrorBody = client.ErrorBody

// SQLAnswer is POST /v1/sql's JSON answer, for tests that read rows back.
type SQLAnswer struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows     [][]any `json:"rows"`
	RowCount int     `json:"row_count"`
}

// WaitFor polls cond every 20ms for up to 10s, failing the test naming
// what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Fail sends body, requires the status and the JSON error shape with a
// non-empty message, and returns the decoded error.
func (s *Server) Fail(t testing.TB, method, path string, body any, wantStatus int) ErrorBody {
	t.Helper()
	var e ErrorBody
	s.JSON(t, method, path, body, wantStatus, &e)
	if e.Error.Message == "" || e.Error.Code == "" {
		t.Fatalf("%s %s: error body without code/message", method, path)
	}
	return e
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return fmt.Sprintf("%s…(%d bytes)", b[:2000], len(b))
	}
	return string(b)
}

// As is the same server seen with another bearer token (another
// principal); stopping it is a no-op, the original owns the process.
func (s *Server) As(token string) *Server {
	c := *s
	c.Token, c.cancel = token, nil
	return &c
}
