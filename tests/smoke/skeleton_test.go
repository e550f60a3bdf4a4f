package smoke

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

// modules is every module the binary serves; /ready and the route table
// must both name each of them.
var modules = []string{"catalog", "embed", "erasure", "indexer", "ingest", "observer", "pathway",
	"query", "storage", "vector", "workbench", "workflow"}

// TestSkeleton: the binary starts on defaults plus a token, /health is open
// and says who it is, everything else is behind the gate, every module is
// ready and mounted, every parameterless GET route of the route table
// answers (never 404, 405 or 5xx), unknown routes and wrong methods get
// the one error shape, the embedded UI is served, and --modules hides the
// routes of the modules it leaves out.
func TestSkeleton(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil)
	s := n.start(t)
	anon := &Client{URL: s.URL, Log: s.log.tail}

	var health struct{ Status, Service, Version string }
	anon.Call(t, "GET", "/health", nil, 200, &health)
	if health.Status != "ok" || health.Service != "lakehouse" || health.Version == "" {
		t.Fatalf("/health: %+v", health)
	}
	resp := anon.Call(t, "GET", "/v1/catalog/list", nil, 401, nil)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without WWW-Authenticate: Bearer: %v", resp.Header)
	}
	anon.Fail(t, "GET", "/v1/catalog/list", nil, 401, "")
	(&Client{URL: s.URL, Token: "not-the-token"}).Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT 1"}, 401, "")

	var ready struct {
		Ready   bool `json:"ready"`
		Modules map[string]struct {
			OK bool `json:"ok"`
		} `json:"modules"`
	}
	s.Call(t, "GET", "/ready", nil, 200, &ready)
	var names []string
	for name, m := range ready.Modules {
		names = append(names, name)
		if !m.OK {
			t.Errorf("/ready: module %s not ok", name)
		}
	}
	sort.Strings(names)
	if !ready.Ready || !slices.Equal(names, modules) {
		t.Fatalf("/ready: ready=%v modules %v, want %v", ready.Ready, names, modules)
	}

	// The route table (/openapi.json, open like /health) names every
	// module, and each route without a path parameter that reads answers.
	var api struct {
		Paths map[string]map[string]struct {
			Tags []string `json:"tags"`
		} `json:"paths"`
	}
	anon.Call(t, "GET", "/openapi.json", nil, 200, &api)
	tagged := map[string]int{}
	var gets []string
	for path, ops := range api.Paths {
		for method, op := range ops {
			for _, tag := range op.Tags {
				tagged[tag]++
			}
			// /mcp's GET is a server-sent event stream that stays open.
			if method == "get" && !strings.Contains(path, "{") && path != "/mcp" {
				gets = append(gets, path)
			}
		}
	}
	for _, m := range modules {
		if tagged[m] == 0 {
			t.Errorf("/openapi.json lists no route of module %s", m)
		}
	}
	sort.Strings(gets)
	if len(gets) < 15 {
		t.Fatalf("only %d parameterless GET routes in /openapi.json: %v", len(gets), gets)
	}
	for _, path := range gets {
		r, err := s.Do("GET", path, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		switch {
		case r.Status == 200:
		case r.Status == 400: // a required query parameter: the error says which
			var e Error
			if json.Unmarshal(r.Body, &e) != nil || e.Error.Message == "" {
				t.Errorf("GET %s: 400 without the error shape: %s", path, clip(r.Body))
			}
		default:
			t.Errorf("GET %s: %d %s", path, r.Status, clip(r.Body))
		}
	}

	// A few answers checked for content, not only status: a fresh node is
	// empty, and the built-in encoder is the one embedded in the binary.
	var list struct {
		Count int `json:"count"`
	}
	s.Call(t, "GET", "/v1/catalog/list", nil, 200, &list)
	var idx struct {
		Indexes []indexInfo `json:"indexes"`
	}
	s.Call(t, "GET", "/v1/vectors/index", nil, 200, &idx)
	for _, ix := range idx.Indexes {
		// Internal indexes ("_pathway", trace memory) exist from the start.
		if !strings.HasPrefix(ix.Name, "_") {
			t.Fatalf("fresh node holds index %s", ix.Name)
		}
	}
	var stats struct {
		Provider  string `json:"provider"`
		Model     string `json:"model"`
		Dimension int    `json:"dimension"`
	}
	s.Call(t, "GET", "/v1/embed/stats", nil, 200, &stats)
	if list.Count != 0 || stats.Provider != "builtin" || stats.Dimension != 512 {
		t.Fatalf("fresh node: %d datasets, embedder %+v", list.Count, stats)
	}
	if m := s.Call(t, "GET", "/metrics", nil, 200, nil); !strings.Contains(string(m.Body), "lakehouse_http_requests_total") {
		t.Fatalf("/metrics lacks lakehouse_http_requests_total")
	}

	s.Fail(t, "GET", "/v1/no-such-route", nil, 404, "not_found")
	if r := s.Call(t, "DELETE", "/v1/sql", nil, 405, nil); r.Header.Get("Allow") != "POST" {
		t.Fatalf("405 on /v1/sql: Allow %q", r.Header.Get("Allow"))
	}
	ui := anon.Call(t, "GET", "/", nil, 200, nil)
	if !strings.HasPrefix(ui.Header.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(string(ui.Body)), "<html") {
		t.Fatalf("GET / is not the web UI: %s %s", ui.Header.Get("Content-Type"), clip(ui.Body))
	}

	// --modules: only the named modules' routes are mounted.
	only := newNode(t, nil).start(t, "--modules", "storage")
	only.Call(t, "GET", "/v1/storage/list", nil, 200, nil)
	only.Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT 1"}, 404, "")
	only.Fail(t, "GET", "/v1/vectors/index", nil, 404, "")
	(&Client{URL: only.URL}).Call(t, "GET", "/health", nil, 200, nil)
}
