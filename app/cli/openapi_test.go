package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"lakehouse/app"
	"lakehouse/config"
	"lakehouse/modules/kit"
)

var update = flag.Bool("update", false, "rewrite the route table in docs/API.md from /openapi.json")

type oapiDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Info       map[string]any                       `json:"info"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPICoversEveryRoute: /openapi.json is open, is OpenAPI 3.1,
// has an operation for every mounted route and none for a route that is
// not mounted, every $ref resolves, and docs/API.md's route table is the
// one generated from it.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	srv := bootAllModules(t)
	req := httptest.NewRequest("GET", "/openapi.json", nil) // no token: open like /health
	rec := httptest.NewRecorder()
	srv.Echo.ServeHTTP(rec, req)
	raw := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !json.Valid(raw) {
		t.Fatalf("GET /openapi.json: %d %s", rec.Code, raw)
	}
	var doc oapiDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info["title"] == nil || doc.Info["version"] == nil {
		t.Fatalf("not an OpenAPI 3.1 document: %s %v", doc.OpenAPI, doc.Info)
	}
	for _, m := range regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("$ref %s does not resolve", m[1])
		}
	}
	ops := map[string]bool{}
	for p, methods := range doc.Paths {
		for method, op := range methods {
			ops[strings.ToUpper(method)+" "+p] = true
			if op["responses"] == nil || op["operationId"] == nil {
				t.Errorf("%s %s: no responses or operationId", method, p)
			}
		}
	}
	// Every route the server mounted has an operation, and the other way round.
	routes := srv.Routes()
	mounted := map[string]bool{}
	for _, r := range routes {
		k := r.Method + " " + oapiPath(r.Path)
		mounted[k] = true
		if !ops[k] {
			t.Errorf("route %s (module %s) has no entry in /openapi.json", k, r.Module)
		}
	}
	for k := range ops {
		p := strings.SplitN(k, " ", 2)[1]
		if strings.HasPrefix(p, "/v1/") && !mounted[k] && !strings.HasPrefix(p, "/v1/session") {
			t.Errorf("/openapi.json has %s, which no module serves", k)
		}
	}
	checkAPIDoc(t, routes, srv.Permissions())
}

// bootAllModules boots every module on a temporary data dir behind a token
// and returns the server; the container and server stop when t ends.
func bootAllModules(t *testing.T) *app.Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Token = "t0ken"
	exposed, _ := ParseModules(nil)
	c, err := Boot(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), exposed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	srv, err := app.NewServer(c, exposed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func oapiPath(p string) string {
	p = regexp.MustCompile(`:([A-Za-z0-9_]+)`).ReplaceAllString(p, "{$1}")
	if strings.HasSuffix(p, "*") {
		p = strings.TrimSuffix(p, "*") + "{path}"
	}
	return p
}

const (
	tableBegin = "<!-- routes:begin (generated from /openapi.json by `go test -tags duckdb_arrow ./app/cli -run OpenAPI -update`) -->"
	tableEnd   = "<!-- routes:end -->"
)

// checkAPIDoc keeps docs/API.md's generated route table in step with the
// mounted routes.
func checkAPIDoc(t *testing.T, routes []kit.RouteInfo, perms []kit.RoutePerm) {
	need := map[string]string{}
	for _, p := range perms {
		n := p.Role
		if p.Dataset != "" {
			n += " (+ grant of `" + p.Dataset + "`)"
		}
		need[p.Method+" "+p.Path] = n
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Module != routes[j].Module {
			return routes[i].Module < routes[j].Module
		}
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	var b strings.Builder
	b.WriteString(tableBegin + "\n\n| module | method | path | needs |\n|---|---|---|---|\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", r.Module, r.Method, oapiPath(r.Path), need[r.Method+" "+r.Path])
	}
	b.WriteString("\n" + tableEnd)
	const file = "../../docs/API.md"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("docs/API.md has no generated route table (markers %q ... %q)", tableBegin, tableEnd)
	}
	want := text[:i] + b.String() + text[j+len(tableEnd):]
	if *update {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != text {
		t.Error("docs/API.md's route table is stale: run `go test -tags duckdb_arrow ./app/cli -run OpenAPI -update`")
	}
	for _, e := range checkModuleTable(text[j+len(tableEnd):], routes) {
		t.Error("docs/API.md's table by module: " + e)
	}
}

var (
	docCellRe  = regexp.MustCompile("`([A-Z/]+) (/[^`\\s]*)`")
	docParamRe = regexp.MustCompile(`<[a-z]+>|\{[a-z_]+\}`)
	docBraceRe = regexp.MustCompile(`\{([a-z_]+(?:,[a-z_]+)+)\}`)
)

// checkModuleTable checks the hand-written table by module that follows
// the generated one: every "METHOD /path" it names (METHODS may be
// "POST/GET", a path may hold {a,b} alternatives and <param>s) must be a
// route /openapi.json lists for that row's module.
func checkModuleTable(text string, routes []kit.RouteInfo) []string {
	owner := map[string]string{} // "METHOD /v1/a/*/b" → module
	norm := func(p string) string { return docParamRe.ReplaceAllString(p, "*") }
	for _, r := range routes {
		owner[r.Method+" "+norm(oapiPath(r.Path))] = r.Module
	}
	var errs []string
	module := ""
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "module" {
			continue
		}
		if m := strings.TrimSpace(cells[1]); m != "" {
			module = m
		}
		if strings.HasPrefix(module, "(") {
			continue // the server's own routes, not a module's
		}
		for _, m := range docCellRe.FindAllStringSubmatch(cells[2], -1) {
			path, _, _ := strings.Cut(m[2], "?")
			path, _, _ = strings.Cut(path, "[")
			paths := []string{path}
			if b := docBraceRe.FindStringSubmatch(path); b != nil {
				paths = nil
				for _, alt := range strings.Split(b[1], ",") {
					paths = append(paths, strings.Replace(path, b[0], alt, 1))
				}
			}
			for _, method := range strings.Split(m[1], "/") {
				for _, p := range paths {
					if got, ok := owner[method+" "+norm(p)]; !ok || got != module {
						errs = append(errs, fmt.Sprintf("%s %s is listed under %s, but /openapi.json has it under %q", method, p, module, got))
					}
				}
			}
		}
	}
	return errs
}
