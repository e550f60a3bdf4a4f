package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestEveryViewIsAnAddress: the dataset page's facets, filters, sort and
// page, the SQL console's query and parameters, and the search's text,
// filters and mode are in the address; reload and a fresh tab on the
// same address show the same view; Back and Forward step through them;
// a ?q= link does not inherit an earlier search's filters.
func TestEveryViewIsAnAddress(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	hash := func() string {
		var h string
		p.run(t, "hash", chromedp.Evaluate(`decodeURIComponent(location.hash)`, &h))
		return h
	}

	// Dataset page: a facet, a column filter, a sort, page 2.
	chicago := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago'")
	senior := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago' AND years >= 2")
	if senior <= 50 {
		t.Fatalf("the test needs a second page: %d Chicago candidates with 2+ years", senior)
	}
	p.run(t, "facet", chromedp.Navigate(s.URL+"/#/datasets/candidates"),
		waitJS(`!!document.querySelector('.facet-value[data-col="city"][data-val="Chicago"]')`),
		chromedp.Click(`.facet-value[data-col="city"][data-val="Chicago"]`, chromedp.ByQuery),
		waitText("#page-info", fmt.Sprintf("of %d", chicago)),
		chromedp.SendKeys(`input.col-filter[data-col="years"]`, ">=2\r", chromedp.ByQuery),
		waitText("#page-info", fmt.Sprintf("of %d", senior)),
		chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitJS(`document.querySelector('th[aria-sort="ascending"]') !== null`),
		chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitJS(`document.querySelector('th[aria-sort="descending"]') !== null`),
		chromedp.Click("#page-next", chromedp.ByID), waitText("#page-info", "rows 51–"))
	h := hash()
	for _, want := range []string{"f.city=Chicago", "c.years=>=2", "sort=-years", "page=2"} {
		if !strings.Contains(h, want) {
			t.Errorf("dataset address %q lacks %q", h, want)
		}
	}
	var firstRow string
	view := func(what string) {
		t.Helper()
		var row string
		p.run(t, what, waitText("#active-filters", "city = Chicago"), waitText("#active-filters", "years: >=2"),
			waitJS(`document.querySelector('th[aria-sort="descending"] button[aria-label="Sort by years"]') !== null`),
			waitText("#page-info", fmt.Sprintf("rows 51–%d of %d", min(100, senior), senior)),
			chromedp.Text("#ds-table tbody tr", &row, chromedp.ByQuery))
		if firstRow == "" {
			firstRow = row
		} else if row != firstRow {
			t.Errorf("%s: first row %q, want %q", what, row, firstRow)
		}
	}
	view("the view")
	p.run(t, "reload", chromedp.Reload())
	view("after reload")
	p.run(t, "back: page 1", chromedp.NavigateBack(), waitText("#page-info", "rows 1–50 of"))
	p.run(t, "back: ascending", chromedp.NavigateBack(), waitJS(`document.querySelector('th[aria-sort="ascending"]') !== null`))
	p.run(t, "back: no sort", chromedp.NavigateBack(), waitJS(`document.querySelector('th[aria-sort="ascending"], th[aria-sort="descending"]') === null`))
	p.run(t, "forward: ascending", chromedp.NavigateForward(), waitJS(`document.querySelector('th[aria-sort="ascending"]') !== null`))
	var addr string
	p.run(t, "address", chromedp.Evaluate(`location.hash`, &addr))
	if strings.Contains(addr, "page=") || !strings.Contains(addr, "sort=years") {
		t.Errorf("after Forward the address is %q", addr)
	}
	url := s.URL + "/#" + strings.SplitN(h, "#", 2)[1]
	p.run(t, "shared", chromedp.Navigate("about:blank"), chromedp.Navigate(url))
	view("a shared link")

	// SQL console: the query and its parameters.
	const q1 = "SELECT city, COUNT(*) AS n FROM candidates WHERE role = $1 GROUP BY city ORDER BY n DESC, city"
	forklift := count(t, s, "SELECT COUNT(DISTINCT city) FROM candidates WHERE role = 'Forklift Driver'")
	rows := fmt.Sprintf("%d rows", forklift)
	p.run(t, "sql", chromedp.Navigate(s.URL+"/#/sql"), chromedp.WaitVisible("#sql-editor", chromedp.ByID),
		chromedp.SetValue("#sql-editor", q1, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#param-add", chromedp.ByID),
		chromedp.SetValue("#param-name-1", "role", chromedp.ByID), chromedp.SetValue("#param-value-1", "Forklift Driver", chromedp.ByID),
		chromedp.Click("#sql-run", chromedp.ByID), waitText("#sql-status", rows))
	if h := hash(); !strings.Contains(h, "sql="+strings.ReplaceAll(q1, " ", "+")) || !strings.Contains(h, "p.role=Forklift+Driver") {
		t.Errorf("sql address: %q", h)
	}
	sqlView := func(what string) {
		t.Helper()
		p.run(t, what, waitText("#sql-status", rows), waitText("#sql-result", "city"),
			waitJS(fmt.Sprintf(`document.getElementById("sql-editor").value === %q`, q1)),
			waitJS(`document.getElementById("param-name-1").value === "role" && document.getElementById("param-value-1").value === "Forklift Driver"`))
	}
	p.run(t, "reload sql", chromedp.Reload())
	sqlView("sql after reload")
	p.axe(t, "sql")
	p.run(t, "another query", chromedp.SetValue("#sql-editor", "SELECT 7 AS seven", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#sql-run", chromedp.ByID), waitText("#sql-status", "1 rows"))
	p.run(t, "back to the first", chromedp.NavigateBack())
	sqlView("sql after Back")
	p.run(t, "forward", chromedp.NavigateForward(), waitJS(`document.getElementById("sql-editor").value === "SELECT 7 AS seven"`), waitText("#sql-result", "seven"))
	// The dataset page's "Open in SQL" is an address too.
	p.run(t, "open in sql", chromedp.Navigate(s.URL+"/#/datasets/candidates?f.city=Chicago"), waitText("#page-info", fmt.Sprintf("of %d", chicago)),
		chromedp.Click("#open-in-sql", chromedp.ByID), waitText("#sql-status", fmt.Sprintf("%d rows", chicago)),
		waitJS(`document.getElementById("param-value-1").value === "Chicago"`))

	// Search: text, filters and mode.
	p.run(t, "search", chromedp.Navigate(s.URL+"/#/search"), waitJS(`document.querySelectorAll("#search-index option").length > 0`),
		chromedp.SetValue("#search-text", "forklift driver OSHA-30", chromedp.ByID),
		chromedp.SetValue("#f-city", "Chicago", chromedp.ByID), chromedp.SetValue("#search-mode", "vector", chromedp.ByID),
		chromedp.Click("#search-run", chromedp.ByID), waitJS(`document.querySelectorAll("#search-results .hit").length > 0`))
	if h := hash(); !strings.Contains(h, "q=forklift+driver+OSHA-30") || !strings.Contains(h, "city=Chicago") || !strings.Contains(h, "mode=vector") {
		t.Errorf("search address: %q", h)
	}
	var hits string
	p.run(t, "hits", chromedp.Evaluate(`document.getElementById("search-results").textContent`, &hits))
	searchView := func(what string) {
		t.Helper()
		p.run(t, what, waitJS(`document.getElementById("search-text").value === "forklift driver OSHA-30"`),
			waitJS(`document.getElementById("f-city").value === "Chicago" && document.getElementById("search-mode").value === "vector"`),
			waitJS(fmt.Sprintf(`document.getElementById("search-results").textContent === %q`, hits)))
	}
	p.run(t, "reload search", chromedp.Reload())
	searchView("search after reload")
	p.axe(t, "search")
	// A ?q= link starts afresh: no city filter or mode from the search
	// before (hybrid is the default).
	p.run(t, "a q link", chromedp.Navigate(s.URL+"/#/search?q=dental%20hygienist"), waitText("#search-status", "0 strong matches"),
		waitJS(`document.getElementById("f-city").value === "" && document.getElementById("search-mode").value === "hybrid"`))
	p.run(t, "back to the search", chromedp.NavigateBack())
	searchView("search after Back")
	p.shot(t, "12-search-address")
}
