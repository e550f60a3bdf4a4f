package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// seeded starts a server holding the demo at scale 0.01 (a copy of the
// template seeded once per process, seed_test.go) and a browser logged
// in to it.
func seeded(t *testing.T, timeout time.Duration) (*apptest.Server, *page) {
	t.Helper()
	dir := seededDataDir(t)
	s := apptest.Start(t, func(c *config.Config) { c.DataDir = dir })
	p := browser(t, timeout)
	p.run(t, "log in", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#login-token", chromedp.ByID),
		chromedp.SetValue("#login-token", s.Token, chromedp.ByID), chromedp.Click(`#login-form button[type="submit"]`, chromedp.ByQuery),
		waitText("#datasets-list", "candidates"))
	return s, p
}

func text(t *testing.T, s *apptest.Server, sql string, params ...any) string {
	t.Helper()
	var out struct{ Rows [][]any }
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": sql, "params": params}, 200, &out)
	return fmt.Sprint(out.Rows[0][0])
}

// relatedCount waits for a related-rows section and checks its count.
func relatedCount(dataset string, want int) chromedp.Action {
	noun := "rows"
	if want == 1 {
		noun = "row"
	}
	return waitText(fmt.Sprintf(`#row-related section[data-dataset=%q] .count`, dataset), fmt.Sprintf("%d %s", want, noun))
}

// TestRowPages: a candidate's profile opened from a search hit; a
// candidate's page lists its calls, emails, placements and timesheets
// with their counts, and the job orders and clients one step further; a
// foreign-key cell leads to the job order's page, which lists its
// placements; "browse all" opens the referencing dataset filtered to the
// row; the rows table links each key to its page; a dataset without a
// key, or a key that names no row, says so.
func TestRowPages(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)

	// From a search hit to the candidate's profile.
	p.run(t, "search", chromedp.Navigate(s.URL+"/#/search?q=forklift%20driver%20OSHA-30"),
		waitJS(`document.querySelectorAll("#search-results .hit a.profile").length > 0`))
	var hitID string
	p.run(t, "hit id", chromedp.Evaluate(`document.querySelector("#search-results .hit a.profile").textContent`, &hitID),
		chromedp.Click("#search-results .hit a.profile", chromedp.ByQuery))
	name := text(t, s, "SELECT name FROM candidates WHERE candidate_id = $1", hitID)
	p.run(t, "profile from search", waitText("#row-title", name), waitText("#row-meta", "candidate_id = "+hitID),
		waitJS(`!!document.querySelector('#row-related section[data-dataset="call_log"]')`))

	// The busiest placed candidate: every kind of related row.
	cand := text(t, s, `SELECT p.candidate_id FROM placements p JOIN call_log l USING (candidate_id)
		GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1`)
	n := func(q string) int { return count(t, s, q, cand) }
	calls, emails := n("SELECT COUNT(*) FROM call_log WHERE candidate_id = $1"), n("SELECT COUNT(*) FROM email_log WHERE candidate_id = $1")
	placements, sheets := n("SELECT COUNT(*) FROM placements WHERE candidate_id = $1"), n("SELECT COUNT(*) FROM timesheets WHERE candidate_id = $1")
	jobs := n("SELECT COUNT(DISTINCT job_order_id) FROM placements WHERE candidate_id = $1")
	clients := n("SELECT COUNT(DISTINCT client_id) FROM placements WHERE candidate_id = $1")
	p.run(t, "candidate page", chromedp.Navigate(s.URL+"/#/datasets/candidates/row?candidate_id="+cand),
		waitText("#row-title", text(t, s, "SELECT name FROM candidates WHERE candidate_id = $1", cand)),
		waitText("#row-fields", "hourly_rate"),
		relatedCount("call_log", calls), relatedCount("email_log", emails),
		relatedCount("placements", placements), relatedCount("timesheets", sheets),
		relatedCount("job_orders", jobs), relatedCount("clients", clients),
		waitText(`#row-related section[data-dataset="job_orders"]`, "through placements.job_order_id"))
	p.shot(t, "11-row-candidate")
	p.axe(t, "row page")

	// A placement's job order: its own page lists its placements.
	job := text(t, s, "SELECT job_order_id FROM placements WHERE candidate_id = $1 ORDER BY start_date DESC LIMIT 1", cand)
	p.run(t, "job order link", chromedp.Click(fmt.Sprintf(`#row-related section[data-dataset="placements"] a[href$="job_order_id=%s"]`, job), chromedp.ByQuery),
		waitText("#row-title", text(t, s, "SELECT title FROM job_orders WHERE job_order_id = $1", job)),
		relatedCount("placements", count(t, s, "SELECT COUNT(*) FROM placements WHERE job_order_id = $1", job)),
		waitJS(`!!document.querySelector('#row-fields a[href*="/clients/row?client_id="]')`))
	p.run(t, "back to the candidate", chromedp.NavigateBack(), waitText("#row-meta", "candidate_id = "+cand))

	// Browse all of a related dataset: its rows, filtered to this one.
	p.run(t, "browse all calls", chromedp.Click(`#row-related section[data-dataset="call_log"] a.see-all`, chromedp.ByQuery),
		waitText("#ds-title", "call_log"), waitText("#active-filters", "candidate_id = "+cand),
		waitText("#page-info", fmt.Sprintf("of %d", calls)))
	// The rows table links each key to its row page.
	p.run(t, "key links", chromedp.Click(`#ds-table tbody tr td a[href*="/call_log/row?call_id="]`, chromedp.ByQuery),
		waitText("#row-meta", "call_log · call_id = "),
		waitJS(fmt.Sprintf(`!!document.querySelector('#row-fields a[href$="/candidates/row?candidate_id=%s"]')`, cand)))

	// No key, no row: the page says why.
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=people", "id,name\n1,Ada\n"); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	p.run(t, "no key", chromedp.Navigate(s.URL+"/#/datasets/people/row?id=1"), waitText("#row-error", "people declares no key"))
	p.run(t, "no such row", chromedp.Navigate(s.URL+"/#/datasets/candidates/row?candidate_id=nope"), waitText("#row-error", "No row of candidates has candidate_id = nope"))
	p.run(t, "no key value", chromedp.Navigate(s.URL+"/#/datasets/candidates/row?name=x"), waitText("#row-error", "names no candidate_id"))
}
