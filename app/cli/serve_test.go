package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
	"lakehouse/config"
)

func TestHealthOpenEverythingElseGated(t *testing.T) {
	s := apptest.Start(t)
	resp, body := s.DoHeader(t, "GET", "/health", nil, http.Header{"Authorization": {""}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) || !strings.Contains(string(body), `"service":"lakehouse"`) {
		t.Fatalf("/health without token: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/ready", "/v1/storage/list", "/v1/storage/get/x", "/v1/nope"} {
		resp, body := s.DoHeader(t, "GET", path, nil, http.Header{"Authorization": {""}})
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(body), "unauthorized") {
			t.Errorf("%s without token: %d %s", path, resp.StatusCode, body)
		}
		resp, _ = s.DoHeader(t, "GET", path, nil, http.Header{"Authorization": {"Bearer wrong"}})
		if resp.StatusCode != 401 {
			t.Errorf("%s wrong token: %d", path, resp.StatusCode)
		}
	}
	var ready map[string]any
	s.JSON(t, "GET", "/ready", nil, 200, &ready)
	if ready["ready"] != true {
		t.Fatalf("ready = %v", ready)
	}
}

func TestStoragePutGetThroughServer(t *testing.T) {
	s := apptest.Start(t)
	data := bytes.Repeat([]byte("lakehouse "), 100000)
	var put map[string]any
	s.JSON(t, "PUT", "/v1/storage/put/docs/readme.txt", data, 201, &put)
	if put["key"] != "docs/readme.txt" || put["size"] != float64(len(data)) || put["etag"] == "" {
		t.Fatalf("put = %v", put)
	}
	for _, path := range []string{"/v1/storage/get/docs/readme.txt", "/v1/storage/objects/docs/readme.txt"} {
		resp, body := s.Do(t, "GET", path, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("GET %s: %d, %d bytes", path, resp.StatusCode, len(body))
		}
	}
	resp, _ := s.Do(t, "HEAD", "/v1/storage/objects/docs/readme.txt", nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" || resp.ContentLength != int64(len(data)) {
		t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
	var list struct {
		Objects []struct{ Key string } `json:"objects"`
	}
	s.JSON(t, "GET", "/v1/storage/list?prefix=docs/", nil, 200, &list)
	if len(list.Objects) != 1 || list.Objects[0].Key != "docs/readme.txt" {
		t.Fatalf("list = %+v", list)
	}
	s.JSON(t, "DELETE", "/v1/storage/delete/docs/readme.txt", nil, 200, nil)
	s.Fail(t, "GET", "/v1/storage/get/docs/readme.txt", nil, 404)
	if resp, _ := s.Do(t, "HEAD", "/v1/storage/objects/missing", nil); resp.StatusCode != 404 {
		t.Fatalf("HEAD missing: %d", resp.StatusCode)
	}
}

func TestStorageRejectsBadKeys(t *testing.T) {
	s := apptest.Start(t)
	for _, path := range []string{
		"/v1/storage/put/a/%2e%2e/b", "/v1/storage/put/a/..%2Fb", "/v1/storage/put/%2Fetc/passwd",
		"/v1/storage/put/a%00b", "/v1/storage/put/a%0Ab", "/v1/storage/put/" + strings.Repeat("k", 1100),
	} {
		e := s.Fail(t, "PUT", path, "x", 400)
		if !strings.Contains(e.Error.Message, "invalid key") {
			t.Errorf("%s: %s", path, e.Error.Message)
		}
	}
	s.Fail(t, "GET", "/v1/storage/list?prefix=../", nil, 400)
}

func TestStoragePutCapIs413(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.PutCap = 1 << 10
		c.Storage.PrefixCaps = map[string]config.ByteSize{"big/": 4 << 10}
	})
	e := s.Fail(t, "PUT", "/v1/storage/put/big", bytes.Repeat([]byte("x"), 1025), 413)
	if !strings.Contains(e.Error.Message, "1024") {
		t.Errorf("413 message = %s", e.Error.Message)
	}
	s.JSON(t, "PUT", "/v1/storage/put/big/snap", bytes.Repeat([]byte("x"), 3000), 201, nil)
	// Without a Content-Length the cap still holds while streaming, and
	// nothing is left behind.
	resp, _ := s.Do(t, "PUT", "/v1/storage/put/chunked", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("y"), 2000))))
	if resp.StatusCode != 413 {
		t.Fatalf("chunked over cap: %d", resp.StatusCode)
	}
	s.Fail(t, "GET", "/v1/storage/get/chunked", nil, 404)
}

func TestStorageConcurrencyCapIs503WithRetryAfter(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Storage.MaxConcurrentPuts = 1 })
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", s.URL+"/v1/storage/put/slow", pr)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Expect", "100-continue") // body flows only once the handler holds the slot
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte("started")); err != nil { // the slot is now held
		t.Fatal(err)
	}
	resp, body := s.Do(t, "PUT", "/v1/storage/put/second", "x")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("second PUT: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	pw.Close()
	if code := <-first; code != 201 {
		t.Fatalf("first PUT: %d", code)
	}
	s.JSON(t, "PUT", "/v1/storage/put/third", "x", 201, nil)
}

func TestModulesFlagHidesOtherRoutes(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"catalog"} })
	// catalog depends on storage, so storage runs in-process, but its
	// routes are not mounted.
	s.Fail(t, "GET", "/v1/storage/list", nil, 404)
	resp, _ := s.Do(t, "GET", "/health", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
}

func TestServeRefusesNonLoopbackWithoutToken(t *testing.T) {
	t.Setenv("AUTH_TOKEN", "")
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"serve", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir(), "--config", writeEmptyConfig(t)}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "auth.token") || !strings.Contains(stderr.String(), "AUTH_TOKEN") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.Auth.Token = t.TempDir(), "127.0.0.1:0", "tok"
	cfg.Modules = []string{"storage"}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- cli.Serve(ctx, cfg, discardLogger(), ready) }()
	addr := <-ready
	pr, pw := io.Pipe()
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", "http://"+addr+"/v1/storage/put/inflight", pr)
		req.Header.Set("Authorization", "Bearer tok")
		// The body is sent only after the server's 100 Continue, i.e. once
		// the handler runs, so the request is in flight before shutdown.
		req.Header.Set("Expect", "100-continue")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte("part one ")); err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM equivalent: stop accepting, drain
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("server still accepting connections during drain")
	}
	fmt.Fprint(pw, "part two")
	pw.Close()
	if code := <-status; code != 201 {
		t.Fatalf("in-flight PUT during shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestWorkflowIsAModuleOfItsOwn: --modules workflow runs the observer it
// records into (and /ready says which modules run), the observer alone
// serves no workflow routes, and nodes calling an absent module fail
// naming it.
func TestWorkflowIsAModuleOfItsOwn(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"workflow"} })
	var ready struct {
		Modules map[string]any `json:"modules"`
	}
	s.JSON(t, "GET", "/ready", nil, 200, &ready)
	for _, want := range []string{"workflow", "observer", "storage"} {
		if ready.Modules[want] == nil {
			t.Errorf("/ready does not list %s: %v", want, ready.Modules)
		}
	}
	if ready.Modules["query"] != nil {
		t.Errorf("/ready lists query, which --modules workflow does not pull in: %v", ready.Modules)
	}
	var run struct {
		Nodes []struct{ Status, Error string } `json:"nodes"`
	}
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "q", "mode": "sql", "inputs": map[string]any{"sql": "SELECT 1"}}}}, 200, &run)
	if len(run.Nodes) != 1 || run.Nodes[0].Status != "failed" || !strings.Contains(run.Nodes[0].Error, "needs the query module") {
		t.Fatalf("sql node without query: %+v", run.Nodes)
	}
	s.Fail(t, "GET", "/v1/observer/stats", nil, 404) // observer runs, unexposed

	s = apptest.Start(t, func(c *config.Config) { c.Modules = []string{"observer"} })
	s.JSON(t, "GET", "/v1/observer/stats", nil, 200, nil)
	s.Fail(t, "GET", "/v1/observer/workflow", nil, 404)
	ready.Modules = nil
	s.JSON(t, "GET", "/ready", nil, 200, &ready)
	if ready.Modules["workflow"] != nil {
		t.Errorf("/ready lists workflow with --modules observer: %v", ready.Modules)
	}
}
