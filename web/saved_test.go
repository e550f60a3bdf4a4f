package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestSavedQueriesInTheUI: a saved query shows its version, owner and
// time; a broken edit is refused and leaves the saved version alone; a
// save over a colleague's newer version is refused; History restores an
// earlier version; the run address answers CSV; Delete asks first (Cancel
// keeps it) and a deleted query comes back from History.
func TestSavedQueriesInTheUI(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	type saved struct {
		Version int
		SQL     string
	}
	stored := func() (saved, int) {
		var q saved
		resp, body := s.Do(t, "GET", "/v1/workbench/queries/forklift-cities", nil)
		if resp.StatusCode == 200 {
			q = decode[saved](t, body)
		}
		return q, resp.StatusCode
	}
	const v1 = "SELECT city, COUNT(*) AS n FROM candidates WHERE role = $1 GROUP BY city ORDER BY n DESC, city"
	p.run(t, "save", chromedp.Navigate(s.URL+"/#/sql"), chromedp.WaitVisible("#sql-editor", chromedp.ByID),
		chromedp.SetValue("#sql-editor", v1, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#param-add", chromedp.ByID),
		chromedp.SetValue("#param-name-1", "role", chromedp.ByID), chromedp.SetValue("#param-value-1", "Forklift Driver", chromedp.ByID),
		chromedp.SetValue("#save-name", "Forklift cities", chromedp.ByID), chromedp.Click("#save-query", chromedp.ByID),
		waitText("#save-status", "saved “Forklift cities” as version 1"), waitText("#saved-meta", "version 1 · saved by admin"),
		waitText("#saved-queries", "Forklift cities"))
	// The failed edit of the issue: refused, version 1 untouched.
	p.run(t, "broken edit", chromedp.SetValue("#sql-editor", "SELEC city FROM candidates WHERE role = $1", chromedp.ByID),
		chromedp.Click("#save-query", chromedp.ByID), waitText("#save-status", "Not saved"), waitText("#save-status", "SELEC"))
	if q, _ := stored(); q.Version != 1 || q.SQL != v1 {
		t.Fatalf("after a broken edit: %+v", q)
	}
	p.run(t, "good edit", chromedp.SetValue("#sql-editor", v1+" LIMIT 5", chromedp.ByID),
		chromedp.Click("#save-query", chromedp.ByID), waitText("#save-status", "as version 2"), waitText("#saved-meta", "version 2"))
	// A colleague saves version 3; this page, still on 2, is refused.
	s.JSON(t, "PUT", "/v1/workbench/queries/forklift-cities", map[string]any{"name": "Forklift cities", "sql": v1 + " LIMIT 3",
		"params": []map[string]any{{"name": "role", "default": "Forklift Driver"}}, "base_version": 2}, 200, nil)
	p.run(t, "stale save", chromedp.SetValue("#sql-editor", v1+" LIMIT 9", chromedp.ByID),
		chromedp.Click("#save-query", chromedp.ByID), waitText("#save-status", "someone saved a newer version"), waitText("#save-status", "version 3"))
	if q, _ := stored(); q.Version != 3 {
		t.Fatalf("the colleague's version was overwritten: %+v", q)
	}
	// History: restore version 1.
	p.run(t, "history", chromedp.Click("#saved-history", chromedp.ByID), waitJS(`document.querySelectorAll("#saved-versions li").length === 3`),
		waitText("#saved-versions", "v3"))
	p.shot(t, "13-saved-history")
	p.axe(t, "saved query history")
	p.run(t, "restore v1", chromedp.Click(`#saved-versions li[data-version="1"] button.restore`, chromedp.ByQuery),
		waitText("#save-status", "restored version 1 as version 4"), waitText("#saved-meta", "version 4"),
		waitJS(fmt.Sprintf(`document.getElementById("sql-editor").value === %q`, v1)))
	if q, _ := stored(); q.Version != 4 || q.SQL != v1 {
		t.Fatalf("restored: %+v", q)
	}
	// The run address answers the saved query's result as CSV.
	var csv string
	p.run(t, "run address", chromedp.Evaluate(`fetch(document.getElementById("saved-run-csv").href).then(r => r.text())`, &csv,
		func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
	cities := count(t, s, "SELECT COUNT(DISTINCT city) FROM candidates WHERE role = 'Forklift Driver'")
	if !strings.HasPrefix(csv, "city,n\n") || strings.Count(csv, "\n") != cities+1 {
		t.Fatalf("run address CSV: %q, want %d cities", csv, cities)
	}
	// Delete asks first; Cancel keeps the query.
	p.run(t, "delete, cancel", chromedp.Click("#saved-delete", chromedp.ByID), waitJS(`document.getElementById("delete-dialog").open`),
		waitText("#delete-text", "Forklift cities"))
	p.axe(t, "delete confirmation")
	p.run(t, "cancel", chromedp.Click("#delete-cancel", chromedp.ByID), waitJS(`!document.getElementById("delete-dialog").open`))
	if _, code := stored(); code != 200 {
		t.Fatalf("cancelled delete: %d", code)
	}
	p.run(t, "delete, confirm", chromedp.Click("#saved-delete", chromedp.ByID), waitJS(`document.getElementById("delete-dialog").open`),
		chromedp.Click("#delete-confirm", chromedp.ByID), waitText("#save-status", "deleted “Forklift cities”"),
		waitJS(`!document.getElementById("saved-queries").textContent.includes("Forklift cities")`))
	if _, code := stored(); code != 404 {
		t.Fatalf("deleted: %d", code)
	}
	// It comes back from History.
	p.run(t, "restore after delete", waitJS(`!!document.querySelector('#saved-versions li[data-version="4"] button.restore')`),
		chromedp.Click(`#saved-versions li[data-version="4"] button.restore`, chromedp.ByQuery),
		waitText("#save-status", "as version 5"), waitText("#saved-queries", "Forklift cities"))
	if q, code := stored(); code != 200 || q.Version != 5 || q.SQL != v1 {
		t.Fatalf("restored after delete: %d %+v", code, q)
	}
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}
