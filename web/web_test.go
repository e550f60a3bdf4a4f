package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/internal/demo"
)

// axe-core 4.14.1 from npm (MPL-2.0), vendored so the tests need no network.
//
//go:embed testdata/axe.min.js
var axeSource string

// chromiumPath finds the browser `make test-deps` installs from apt.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{os.Getenv("LAKEHOUSE_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (make test-deps installs it with apt); CI requires it")
	}
	t.Skip("chromium not found; `make test` installs it")
	return ""
}

// page is a headless Chromium tab that records uncaught exceptions and
// console errors, so a broken script fails the test.
type page struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	shots  string
}

// browser starts a real headless Chromium at 1280×800 with the flags this machine needs.
func browser(t *testing.T, timeout time.Duration) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	p := &page{ctx: ctx, shots: screenshotDir(t)}
	chromedp.ListenTarget(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.errors = append(p.errors, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				// A failed fetch the page handles (401 before login, a 409
				// drift) is logged by Chromium as a network error, not here.
				p.errors = append(p.errors, "console.error: "+strings.Join(parts, " "))
			}
		}
	})
	return p
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LAKEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lakehouse-ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (p *page) run(t *testing.T, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		p.shot(t, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) > 0 {
		t.Fatalf("%s: script errors: %v", what, p.errors)
	}
}

// shot writes a full-page screenshot as a test artifact.
func (p *page) shot(t *testing.T, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(p.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// axe injects axe-core and requires no serious or critical violation.
func (p *page) axe(t *testing.T, name string) {
	t.Helper()
	var out []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	script := axeSource + `;axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => ({target: n.target}))})))`
	if err := chromedp.Run(p.ctx, chromedp.Evaluate(script, &out, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams {
		return ep.WithAwaitPromise(true)
	})); err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range out {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("axe on %s: %s %s (%s)", name, v.Impact, v.ID, v.Help)
		}
	}
}

func waitText(sel, want string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want),
		nil, chromedp.WithPollingTimeout(30*time.Second))
}

func waitJS(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(30*time.Second))
}

func count(t *testing.T, s *apptest.Server, sql string, params ...any) int {
	t.Helper()
	var out struct{ Rows [][]any }
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": sql, "params": params}, 200, &out)
	return int(out.Rows[0][0].(float64))
}

// TestWorkbench drives every page of the UI in one browser against a
// server holding the demo data at scale 0.01, with axe-core on each page.
func TestWorkbench(t *testing.T) {
	began := time.Now()
	s := apptest.Start(t)
	if _, err := demo.Seed(context.Background(), demo.Client{URL: s.URL, Token: s.Token}, demo.Options{Scale: 0.01}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	t.Logf("demo seeded in %s", time.Since(began).Round(time.Millisecond))
	p := browser(t, 4*time.Minute)
	shown := time.Now()

	// Log in: the token goes into a cookie, never into the page's storage.
	p.run(t, "login page", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#login-token", chromedp.ByID))
	p.shot(t, "01-login")
	p.axe(t, "login")
	p.run(t, "wrong token", chromedp.SendKeys("#login-token", "nope", chromedp.ByID), chromedp.Click(`#login-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#login-error", "not valid"))
	var stored string
	p.run(t, "log in", chromedp.SetValue("#login-token", s.Token, chromedp.ByID), chromedp.Click(`#login-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#datasets-list", "candidates"),
		chromedp.Evaluate(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`, &stored))
	if strings.Contains(stored, s.Token) {
		t.Fatalf("the token is readable by scripts: %s", stored)
	}
	for _, name := range []string{"clients", "job_orders", "placements", "timesheets", "call_log", "email_log"} {
		p.run(t, "dataset "+name, waitText("#datasets-list", name))
	}
	p.shot(t, "02-datasets")
	p.axe(t, "datasets")

	// Browse candidates with two facets, sort, export CSV and compare with SQL.
	p.run(t, "candidates rows", chromedp.Navigate(s.URL+"/#/datasets/candidates"),
		waitJS(`document.querySelectorAll('.facet-value[data-col="city"]').length > 0 && document.querySelectorAll('.facet-value[data-col="role"]').length > 0`),
		chromedp.Click(`.facet-value[data-col="city"][data-val="Chicago"]`, chromedp.ByQuery),
		waitText("#active-filters", "city = Chicago"),
		waitJS(`!!document.querySelector('.facet-value[data-col="role"][data-val="Java Developer"]')`),
		chromedp.Click(`.facet-value[data-col="role"][data-val="Java Developer"]`, chromedp.ByQuery),
		waitText("#active-filters", "role = Java Developer"))
	want := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago' AND role = 'Java Developer'")
	p.run(t, "facet count", waitText("#page-info", fmt.Sprintf("of %d", want)))
	p.run(t, "sort by years", chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitJS(`document.querySelector('th[aria-sort="ascending"]') !== null`),
		chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitJS(`document.querySelector('th[aria-sort="descending"]') !== null`))
	maxYears := count(t, s, "SELECT MAX(years) FROM candidates WHERE city = 'Chicago' AND role = 'Java Developer'")
	yearsCol := 11 // candidate_id, name, email, phone, city, state, role, skills, certifications, languages, shift, years
	p.run(t, "sorted", waitJS(fmt.Sprintf(`(() => { const td = document.querySelector('#ds-table tbody tr td:nth-child(%d)'); return td && td.textContent === "%d"; })()`, yearsCol+1, maxYears)))
	// A per-column filter narrows the view further.
	wantSenior := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago' AND role = 'Java Developer' AND years >= 10")
	p.run(t, "column filter", chromedp.SendKeys(`input.col-filter[data-col="years"]`, ">=10\r", chromedp.ByQuery),
		waitText("#active-filters", "years: >=10"), waitText("#page-info", fmt.Sprintf("of %d", wantSenior)),
		chromedp.Click(`#active-filters button[aria-label="Remove filter on years"]`, chromedp.ByQuery),
		waitText("#page-info", fmt.Sprintf("of %d", want)))
	var csvText string
	p.run(t, "export csv", chromedp.Evaluate(`fetch(document.getElementById("export-csv").href).then(r => r.text())`, &csvText,
		func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
	if lines := strings.Count(csvText, "\n"); lines != want+1 {
		t.Errorf("exported CSV has %d lines, want %d rows + header", lines, want)
	}
	p.shot(t, "03-dataset-facets")
	p.axe(t, "dataset rows")
	p.run(t, "versions tab", chromedp.Click("#ds-tab-versions", chromedp.ByID), waitText("#ds-versions", "first version"),
		chromedp.Click("#ds-tab-schema", chromedp.ByID), waitText("#ds-schema", "hourly_rate"))
	p.axe(t, "dataset schema")

	// SQL: the canonical question from the saved queries, a new named
	// query with a parameter saved and re-run after a reload, a chart.
	canon := count(t, s, "SELECT COUNT(*) FROM ("+demo.CanonicalSQL+")", demo.CanonicalParams...)
	p.run(t, "canonical question", chromedp.Navigate(s.URL+"/#/sql"),
		waitJS(`!!document.querySelector('.saved-load[data-id="java-chicago-called-never-placed"]')`),
		chromedp.Click(`.saved-load[data-id="java-chicago-called-never-placed"]`, chromedp.ByQuery),
		waitText("#sql-status", fmt.Sprintf("%d rows", canon)))
	p.shot(t, "04-sql-canonical")
	p.run(t, "save a named query", chromedp.SetValue("#sql-editor", "SELECT role, COUNT(*) AS candidates, ROUND(AVG(hourly_rate), 2) AS avg_rate FROM candidates WHERE city = $1 GROUP BY role ORDER BY candidates DESC", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#param-add", chromedp.ByID),
		chromedp.SetValue("#param-name-1", "city", chromedp.ByID), chromedp.SetValue("#param-value-1", "Chicago", chromedp.ByID),
		chromedp.SetValue("#save-name", "Roles in a city", chromedp.ByID), chromedp.Click("#save-query", chromedp.ByID),
		waitText("#save-status", "saved"))
	p.run(t, "re-run it after a reload", chromedp.Reload(),
		waitJS(`!!document.querySelector('.saved-load[data-id="roles-in-a-city"]')`),
		chromedp.Click(`.saved-load[data-id="roles-in-a-city"]`, chromedp.ByQuery),
		waitText("#sql-result", "Java Developer"),
		waitJS(`document.getElementById("param-value-1").value === "Chicago"`),
		chromedp.Click("#chart-bar", chromedp.ByID),
		waitJS(`document.querySelector("#chart canvas") !== null`))
	p.shot(t, "05-sql-chart")
	p.axe(t, "sql")

	// Candidate search with a filter, then save a shortlist to memory.
	p.run(t, "search", chromedp.Navigate(s.URL+"/#/search"),
		waitJS(`document.querySelectorAll("#search-index option").length > 0`),
		chromedp.SetValue("#search-text", "forklift driver OSHA-30", chromedp.ByID),
		chromedp.SetValue("#f-city", "Chicago", chromedp.ByID),
		chromedp.Click("#search-run", chromedp.ByID),
		waitJS(`document.querySelectorAll("#search-results .hit").length > 0`))
	var cities []string
	p.run(t, "results", chromedp.Evaluate(`[...document.querySelectorAll("#search-results .hit header")].map(h => h.textContent)`, &cities))
	for _, c := range cities {
		if !strings.Contains(c, "Chicago") {
			t.Errorf("filtered hit outside Chicago: %q", c)
		}
	}
	if !strings.Contains(cities[0], "Forklift Driver") {
		t.Errorf("top hit is not a forklift driver: %q", cities[0])
	}
	p.run(t, "why", chromedp.Click("#search-results .hit details summary", chromedp.ByQuery), waitText("#search-results .hit details", "filter city"))
	p.run(t, "shortlist", chromedp.Click("#pick-0", chromedp.ByID), chromedp.SetValue("#shortlist-name", "Chicago forklift OSHA-30", chromedp.ByID),
		chromedp.Click("#save-shortlist", chromedp.ByID), waitText("#shortlist-status", "Saved shortlist"))
	p.shot(t, "06-search")
	p.axe(t, "search")
	// The negative control, from the datasets page's list of questions.
	p.run(t, "dental hygienist", chromedp.Navigate(s.URL+"/#/datasets"), chromedp.WaitVisible("#try", chromedp.ByID),
		chromedp.Click(`#try a[href*="dental"]`, chromedp.ByQuery), waitText("#search-status", "0 strong matches"))
	p.run(t, "memory", chromedp.Navigate(s.URL+"/#/memory"), waitText("#memory-results", "Chicago forklift OSHA-30"),
		chromedp.Click("#memory-results .history", chromedp.ByQuery), waitText("#memory-history", "shortlist"))
	p.shot(t, "07-memory")
	p.axe(t, "memory")
	p.run(t, "retire", chromedp.Click("#memory-results .retire", chromedp.ByQuery),
		waitJS(`!document.getElementById("memory-results").textContent.includes("Chicago forklift OSHA-30")`),
		waitText("#memory-stats", "1 retired"))

	// Ingest a CSV, then one with drift: the diff, then replace.
	dir := t.TempDir()
	first, second := filepath.Join(dir, "people.csv"), filepath.Join(dir, "people2.csv")
	_ = os.WriteFile(first, []byte("id,name,city\n1,Ada,Chicago\n2,Bo,Denver\n"), 0o644)
	_ = os.WriteFile(second, []byte("id,full_name,city,years\n3,Cy,Austin,4\n"), 0o644)
	p.run(t, "ingest", chromedp.Navigate(s.URL+"/#/ingest"), chromedp.WaitVisible("#ingest-file", chromedp.ByID),
		chromedp.SetUploadFiles("#ingest-file", []string{first}, chromedp.ByID),
		chromedp.SetValue("#ingest-name", "people", chromedp.ByID), chromedp.Click("#ingest-upload", chromedp.ByID),
		waitText("#ingest-status", "Ingested people v1: 2 rows"))
	p.run(t, "drift", chromedp.SetUploadFiles("#ingest-file", []string{second}, chromedp.ByID),
		chromedp.Click("#ingest-upload", chromedp.ByID),
		chromedp.WaitVisible("#drift", chromedp.ByID), waitText("#drift-table", "full_name"), waitText("#drift-table", "removed"))
	p.shot(t, "08-ingest-drift")
	p.axe(t, "ingest")
	p.run(t, "replace", chromedp.Click("#drift-replace", chromedp.ByID), waitText("#ingest-status", "Ingested people v2: 1 rows"))
	// Other formats, and rows changed by key: an NDJSON upsert, a delete.
	changes, gone := filepath.Join(dir, "changes.ndjson"), filepath.Join(dir, "gone.csv")
	_ = os.WriteFile(changes, []byte(`{"id":3,"full_name":"Cy","city":"Boston","years":5}`+"\n"+`{"id":4,"full_name":"Di","city":"Miami","years":2}`+"\n"), 0o644)
	_ = os.WriteFile(gone, []byte("id\n4\n"), 0o644)
	p.run(t, "upsert", chromedp.Click(`input[name="ingest-mode"][value="upsert"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#ingest-key", chromedp.ByID), chromedp.SetValue("#ingest-key", "id", chromedp.ByID),
		chromedp.SetUploadFiles("#ingest-file", []string{changes}, chromedp.ByID), chromedp.Click("#ingest-upload", chromedp.ByID),
		waitText("#ingest-status", "people v3 by id: 1 added, 1 updated, 0 unchanged"))
	p.run(t, "delete by key", chromedp.Click(`input[name="ingest-mode"][value="delete"]`, chromedp.ByQuery),
		chromedp.SetUploadFiles("#ingest-file", []string{gone}, chromedp.ByID), chromedp.Click("#ingest-upload", chromedp.ByID),
		waitText("#ingest-status", "people v4 by id: 0 added, 0 updated, 0 unchanged, 1 deleted"))
	p.shot(t, "08b-ingest-by-key")
	p.axe(t, "ingest by key")

	// Activity: the audit rows of what we just did, and a new one live.
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"name": "chicago-count", "nodes": []map[string]any{
		{"id": "q", "mode": "sql", "inputs": map[string]any{"sql": "SELECT COUNT(*) AS n FROM candidates WHERE city = 'Chicago'"}},
	}}, 200, nil)
	p.run(t, "activity", chromedp.Navigate(s.URL+"/#/activity"), waitText("#activity-feed", "ingested 2 rows into people (v1)"),
		waitText("#activity-feed", "changed people (v3) by id: 1 added, 1 updated, 0 deleted"),
		waitText("#workflow-runs", "chicago-count"), chromedp.Click("#workflow-runs tbody button", chromedp.ByQuery),
		waitText("#workflow-detail", "succeeded"))
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "probe/live-event", "source": "scenario"}, 200, nil)
	p.run(t, "live event", waitText("#activity-feed", "probe/live-event"))
	p.shot(t, "09-activity")
	p.axe(t, "activity")

	// The audit trail is a dataset lakehouse keeps for itself: hidden from
	// the list until asked for.
	apptest.WaitFor(t, "observer_events published", func() bool {
		var l struct {
			Datasets []struct {
				Name     string `json:"name"`
				Internal bool   `json:"internal"`
			} `json:"datasets"`
		}
		s.JSON(t, "GET", "/v1/catalog/list", nil, 200, &l)
		for _, d := range l.Datasets {
			if d.Name == "observer_events" {
				return d.Internal
			}
		}
		return false
	})
	p.run(t, "internal datasets hidden", chromedp.Navigate(s.URL+"/#/datasets"), waitText("#datasets-list", "candidates"),
		waitJS(`!document.getElementById("datasets-list").textContent.includes("observer_events")`),
		chromedp.Click("#datasets-internal", chromedp.ByID), waitText("#datasets-list", "observer_events"))

	// A narrow screen still works.
	p.run(t, "narrow", chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.URL+"/#/datasets/candidates"),
		waitJS(`document.querySelectorAll("#ds-table tbody tr").length > 0`))
	p.shot(t, "10-narrow-dataset")
	p.run(t, "wide again", chromedp.EmulateViewport(1280, 800))

	// Log out: the cookie no longer works.
	p.run(t, "logout", chromedp.Navigate(s.URL+"/#/datasets"), chromedp.WaitVisible("#logout", chromedp.ByID),
		chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#login-token", chromedp.ByID))
	t.Logf("browser part: %s; total %s", time.Since(shown).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// TestDevModeNeedsNoLogin: without a token the page opens straight on the data.
func TestDevModeNeedsNoLogin(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Auth.Token = "" })
	s.Token = ""
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=people", "id,name\n1,Ada\n"); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	p := browser(t, 90*time.Second)
	var loginHidden bool
	p.run(t, "dev mode", chromedp.Navigate(s.URL+"/"), waitText("#datasets-list", "people"), waitText("#whoami", "development mode"),
		chromedp.Evaluate(`document.getElementById("page-login").hidden && document.getElementById("logout").hidden`, &loginHidden))
	if !loginHidden {
		t.Error("login shown in development mode")
	}
}
