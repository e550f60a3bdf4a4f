package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

func request(s *Server, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "127.0.0.1:3110"
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, req)
	return rec
}

func TestUnexpectedErrorShowsOnlyTheRequestID(t *testing.T) {
	s := newTestServer(t)
	rec := request(s, "GET", "/v1/storage/fail", "")
	code, msg := decodeError(t, rec)
	if rec.Code != 500 || code != "internal" || strings.Contains(msg, "/srv") || strings.Contains(msg, "permission") {
		t.Fatalf("500 leaks its cause: %d %s", rec.Code, rec.Body)
	}
	if id := rec.Header().Get("X-Request-Id"); id == "" || !strings.Contains(msg, id) {
		t.Fatalf("500 without its request id: %s", rec.Body)
	}
}

func TestErrorMessagesNeverShowServerPaths(t *testing.T) {
	s := newTestServer(t)
	rec := request(s, "GET", "/v1/storage/pathy", "")
	if rec.Code != 400 || strings.Contains(rec.Body.String(), os.TempDir()) || !strings.Contains(rec.Body.String(), "datasets/x.parquet") {
		t.Fatalf("path not scrubbed (or the relative part lost): %s", rec.Body)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/health", "/v1/nothing", "/v1/storage/boom"} {
		rec := request(s, "GET", path, "")
		h := rec.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("%s: missing security headers: %v", path, h)
		}
	}
}

// DNS rebinding: in development mode a page on evil.example resolving to
// 127.0.0.1 sends Host: evil.example; only loopback names are served.
func TestDevModeAnswersLoopbackHostsOnly(t *testing.T) {
	s := newTestServer(t)
	for _, host := range []string{"evil.example:3110", "evil.example", "10.0.0.1:3110", "127.0.0.1.nip.io:3110"} {
		if rec := request(s, "GET", "/v1/nothing", "", "Host", host); rec.Code != 403 {
			t.Fatalf("host %s: %d", host, rec.Code)
		}
	}
	for _, host := range []string{"127.0.0.1:3110", "localhost:3110", "LOCALHOST", "[::1]:3110", "127.0.0.2:80"} {
		if rec := request(s, "GET", "/v1/nothing", "", "Host", host); rec.Code != 404 {
			t.Fatalf("host %s: %d %s", host, rec.Code, rec.Body)
		}
	}
	// /health stays open to probes whatever they call us.
	if rec := request(s, "GET", "/health", "", "Host", "lb.internal"); rec.Code != 200 {
		t.Fatalf("health: %d", rec.Code)
	}
}

// CSRF: a web page can POST text/plain JSON or a form cross-site without a
// preflight; both are refused.
func TestCrossSiteWritesAreRefused(t *testing.T) {
	s := newTestServer(t)
	cases := []struct {
		name string
		hdr  []string
		want int
	}{
		{"text/plain JSON", []string{"Content-Type", "text/plain"}, 415},
		{"form", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"multipart form", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415},
		{"cross-site fetch", []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site other port", []string{"Content-Type", "application/json", "Sec-Fetch-Site", "same-site"}, 403},
		{"foreign origin", []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403},
		{"null origin", []string{"Content-Type", "application/json", "Origin", "null"}, 403},
		{"own page", []string{"Content-Type", "application/json", "Origin", "http://127.0.0.1:3110", "Sec-Fetch-Site", "same-origin"}, 200},
		{"curl, no type", nil, 200},
		{"json with charset", []string{"Content-Type", "application/json; charset=utf-8"}, 200},
		{"problem+json", []string{"Content-Type", "application/merge-patch+json"}, 200},
	}
	for _, tc := range cases {
		rec := request(s, "POST", "/v1/storage/raw", `{"a":1}`, tc.hdr...)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, rec.Code, tc.want, rec.Body)
		}
	}
	// The refusal wins even when the handler turns read errors into 400s.
	if rec := request(s, "POST", "/v1/storage/raw", `{"a":1}`, "Content-Type", "text/plain"); rec.Code != 415 ||
		!strings.Contains(rec.Body.String(), "application/json") {
		t.Fatalf("raw handler: %d %s", rec.Code, rec.Body)
	}
	// A route that declares its own media types takes them, and only them.
	if rec := request(s, "POST", "/v1/storage/csv", "a,b\n1,2\n", "Content-Type", "text/csv"); rec.Code != 200 {
		t.Fatalf("csv route: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "POST", "/v1/storage/csv", "a,b\n", "Content-Type", "application/x-www-form-urlencoded"); rec.Code != 415 {
		t.Fatalf("csv route with a form: %d %s", rec.Code, rec.Body)
	}
}

// liveServer serves s on a real loopback listener (timeouts and
// connection limits need real sockets).
func liveServer(t *testing.T, edit func(*config.Config)) (*Server, string) {
	t.Helper()
	cfg := config.Default()
	edit(cfg)
	s := buildServer(t, cfg, discardLogger())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, ln.Addr().String()
}

// A body trickling in at 1 byte per 100 ms is cut off with 408.
func TestSlowBodyIsCutOff(t *testing.T) {
	_, addr := liveServer(t, func(c *config.Config) {
		c.Server.BodyIdleTimeout = config.Duration(300 * time.Millisecond)
		c.Server.BodyMinRate = 1024
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/storage/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		done <- line
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line := <-done:
			if !strings.Contains(line, "408") {
				t.Fatalf("slow body answered %q, want 408", line)
			}
			return
		case <-tick.C:
			_, _ = conn.Write([]byte(" "))
		case <-deadline:
			t.Fatal("a 10 byte/s body is still being read after 20s")
		}
	}
}

// A body that stops sending entirely fails after body_idle_timeout.
func TestStalledBodyIsCutOff(t *testing.T) {
	_, addr := liveServer(t, func(c *config.Config) {
		c.Server.BodyIdleTimeout = config.Duration(300 * time.Millisecond)
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/storage/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(line, "408") {
		t.Fatalf("stalled body: %q %v", line, err)
	}
}

// Hundreds of idle connections must not keep /health out: past the cap
// the longest-idle connection makes room.
func TestIdleConnectionsCannotStarveHealth(t *testing.T) {
	s, addr := liveServer(t, func(c *config.Config) { c.Server.MaxConnections = 20 })
	var idle []net.Conn
	for i := 0; i < 60; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 20; i++ {
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			t.Fatalf("health under idle-connection flood: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("health: %d", resp.StatusCode)
		}
	}
	if n := s.conns.open(); n > 20 {
		t.Fatalf("%d connections open past the cap of 20", n)
	}
}

func TestInFlightCapAnswers503(t *testing.T) {
	h := inFlightLimit(1)
	block := make(chan struct{})
	started := make(chan struct{})
	s := newTestServer(t)
	slow := h(func(c echo.Context) error { close(started); <-block; return nil })
	go func() { _ = slow(s.Echo.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())) }()
	<-started
	err := h(func(c echo.Context) error { return nil })(s.Echo.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder()))
	close(block)
	if e, ok := err.(*kit.APIError); !ok || e.Status != 503 || e.Header.Get("Retry-After") == "" {
		t.Fatalf("second request past the cap: %v", err)
	}
}

func TestMemoryGuardShedsAboveThreshold(t *testing.T) {
	g := &memoryGuard{limit: 1 << 30, threshold: 1 << 20, stop: make(chan struct{})}
	g.rss.Store(2 << 20)
	s := newTestServer(t)
	err := g.middleware()(func(c echo.Context) error { return nil })(s.Echo.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder()))
	if e, ok := err.(*kit.APIError); !ok || e.Status != 503 || !strings.Contains(e.Message, "memory") {
		t.Fatalf("over the memory threshold: %v", err)
	}
	g.rss.Store(1 << 10)
	if err := g.middleware()(func(c echo.Context) error { return nil })(s.Echo.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())); err != nil {
		t.Fatalf("under the threshold: %v", err)
	}
	if readRSS() <= 0 || systemMemory() <= 0 {
		t.Fatal("cannot read memory figures on this machine")
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	s := newTestServer(t)
	rec := request(s, "DELETE", "/v1/storage/echo", "")
	if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("DELETE on a POST route: %d Allow=%q %s", rec.Code, rec.Header().Get("Allow"), rec.Body)
	}
	if rec := request(s, "GET", "/v1/no-such-route", ""); rec.Code != 404 {
		t.Fatalf("unknown path: %d", rec.Code)
	}
	if rec := request(s, "PUT", "/health", ""); rec.Code != 405 || !strings.Contains(rec.Header().Get("Allow"), "GET") {
		t.Fatalf("PUT /health: %d %v", rec.Code, rec.Header())
	}
}

func TestMetricsCountRequestsByRouteTemplate(t *testing.T) {
	s := newTestServer(t)
	request(s, "POST", "/v1/storage/raw", `{}`, "Content-Type", "application/json")
	request(s, "GET", "/v1/no/such/route/12345", "")
	rec := request(s, "GET", "/metrics", "")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `lakehouse_http_requests_total{method="POST",module="storage",route="/v1/storage/raw",status="200"} 1`) ||
		!strings.Contains(body, `route="unmatched"`) || strings.Contains(body, "12345") ||
		!strings.Contains(body, "lakehouse_http_request_duration_seconds_bucket") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics: %d\n%s", rec.Code, body)
	}
}
