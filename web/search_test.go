package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSearchHybridFacetsExplain: candidate search runs hybrid unless told
// otherwise; a city typed in lower case finds the index's canonical city
// (the server's filter is exact) and the field and the address take its
// spelling; each hit says why it ranked (the server's explanation); the
// facet counts beside the hits are the server's counts over every match;
// a facet lists more than ten values behind "Show more" and finds one by
// name; a facet value filters; a city the index lacks is said, not a
// silent zero.
func TestSearchHybridFacetsExplain(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	hash := func() string {
		var h string
		p.run(t, "hash", chromedp.Evaluate(`decodeURIComponent(location.hash)`, &h))
		return h
	}
	p.run(t, "search page", chromedp.Navigate(s.URL+"/#/search"), waitJS(`document.querySelectorAll("#search-index option").length > 0`),
		waitJS(`document.getElementById("search-mode").value === "hybrid"`),
		// The pick-lists are the index's facet values, with their counts.
		waitJS(`[...document.querySelectorAll("#dl-city option")].some(o => o.value === "Chicago" && /\(\d/.test(o.label))`))
	p.run(t, "lower-case city", chromedp.SetValue("#search-text", "forklift driver OSHA-30", chromedp.ByID),
		chromedp.SetValue("#f-city", "chicago", chromedp.ByID),
		chromedp.Click("#search-run", chromedp.ByID), waitJS(`document.querySelectorAll("#search-results .hit").length > 0`),
		waitJS(`document.getElementById("f-city").value === "Chicago"`))
	if h := hash(); !strings.Contains(h, "city=Chicago") || strings.Contains(h, "mode=") {
		t.Errorf("address after a lower-case city: %q (want the canonical city and the default mode left out)", h)
	}
	var headers []string
	p.run(t, "hits", chromedp.Evaluate(`[...document.querySelectorAll("#search-results .hit header")].map(h => h.textContent)`, &headers))
	for _, h := range headers {
		if !strings.Contains(h, "Chicago") {
			t.Errorf("hit outside Chicago: %q", h)
		}
	}
	if !strings.Contains(headers[0], "Forklift Driver") {
		t.Errorf("top hit is not a forklift driver: %q", headers[0])
	}

	// Why this result: both sides' ranks, the matched words, the fused
	// score (hybrid's alone), and the code the query names.
	var why string
	p.run(t, "why", chromedp.Click("#search-results .hit details summary", chromedp.ByQuery),
		waitText("#search-results .hit details", "Words: ranked #"),
		chromedp.Text("#search-results .hit details", &why, chromedp.ByQuery))
	for _, want := range []string{"matched ", "osha", "Meaning: ranked #", "similarity 0.", "Combined score", "filter city = Chicago"} {
		if !strings.Contains(why, want) {
			t.Errorf("why this result lacks %q: %q", want, why)
		}
	}
	if count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago' AND role = 'Forklift Driver' AND certifications LIKE '%OSHA-30%'") > 0 {
		// Hybrid ranks holders of the query's code first (vector mode
		// put OSHA-10 holders among them).
		if !strings.Contains(why, "Holds 1 of the codes") || !strings.Contains(why, "certifications: ") || !strings.Contains(why[strings.Index(why, "certifications: "):], "OSHA-30") {
			t.Errorf("the top hit does not hold OSHA-30: %q", why)
		}
	}

	// Facet counts beside the hits: every Chicago candidate, by role.
	chicago := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago'")
	forklift := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Chicago' AND role = 'Forklift Driver'")
	roles := count(t, s, "SELECT COUNT(DISTINCT role) FROM candidates WHERE city = 'Chicago'")
	facet := func(col string) string { return fmt.Sprintf(`#search-facets section[data-col=%q]`, col) }
	p.run(t, "facet counts", waitText(facet("city"), fmt.Sprintf("Chicago%d", chicago)),
		waitText(facet("role"), fmt.Sprintf("Forklift Driver%d", forklift)))
	if roles > 10 {
		p.run(t, "show more roles", waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === 10`, facet("role")+" .facet-value")),
			waitText(facet("role")+" .facet-more", fmt.Sprintf("Show %d more", roles-10)),
			chromedp.Click(facet("role")+" .facet-more", chromedp.ByQuery),
			waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, facet("role")+" .facet-value", roles)))
		p.run(t, "find a role", chromedp.SendKeys(facet("role")+" .facet-find", "fork", chromedp.ByQuery),
			waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, facet("role")+" .facet-value")))
	} else {
		t.Logf("only %d roles in Chicago: no \"show more\" to test here", roles)
	}
	p.shot(t, "13-search-hybrid-facets")
	p.axe(t, "search with facets")

	// A facet value is a filter: the role facet picks Forklift Driver.
	p.run(t, "pick a role", chromedp.Click(facet("role")+` .facet-value[data-val="Forklift Driver"]`, chromedp.ByQuery),
		waitJS(`document.getElementById("f-role").value === "Forklift Driver"`),
		waitJS(fmt.Sprintf(`(() => { const b = document.querySelector(%q); return !!b && b.getAttribute("aria-pressed") === "true"; })()`, facet("role")+` .facet-value[data-val="Forklift Driver"]`)),
		waitText("#search-status", fmt.Sprintf("%d results", min(20, forklift))))
	if h := hash(); !strings.Contains(h, "role=Forklift Driver") && !strings.Contains(h, "role=Forklift+Driver") {
		t.Errorf("address after picking a role: %q", h)
	}

	// A link with a lower-case city: the same canonical search.
	p.run(t, "lower-case link", chromedp.Navigate(s.URL+"/#/search?q=forklift%20driver&city=houston"),
		waitJS(`document.getElementById("f-city").value === "Houston" && document.getElementById("f-role").value === ""`),
		waitJS(`document.querySelectorAll("#search-results .hit").length > 0`))
	// A city the index does not hold is said, not a silent zero.
	p.run(t, "unknown city", chromedp.SetValue("#f-city", "Gotham", chromedp.ByID), chromedp.Click("#search-run", chromedp.ByID),
		waitText("#search-status", "no city “Gotham” in this index"))
}

// TestDatasetFacetsShowMoreAndSortChip: a facet with more than ten values
// lists the rest behind "Show more" and finds a value by name; the sort
// shows as a chip beside the filters, visible when the sorted column is
// scrolled out of sight, and the chip removes it.
func TestDatasetFacetsShowMoreAndSortChip(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	cities := count(t, s, "SELECT COUNT(DISTINCT city) FROM candidates")
	if cities <= 10 {
		t.Fatalf("the test needs more than 10 cities, the demo has %d", cities)
	}
	city := `#facet-list section[data-col="city"]`
	p.run(t, "top ten", chromedp.Navigate(s.URL+"/#/datasets/candidates"),
		waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === 10`, city+" .facet-value")),
		waitText(city+" .facet-more", fmt.Sprintf("Show %d more", cities-10)),
		chromedp.Click(city+" .facet-more", chromedp.ByQuery),
		waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, city+" .facet-value", cities)),
		waitJS(fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-expanded") === "true"`, city+" .facet-more")))
	houston := count(t, s, "SELECT COUNT(*) FROM candidates WHERE city = 'Houston'")
	p.run(t, "find a city", chromedp.SendKeys(city+" .facet-find", "HOU", chromedp.ByQuery),
		waitJS(fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, city+" .facet-value")),
		waitText(city, fmt.Sprintf("Houston%d", houston)),
		chromedp.Click(city+` .facet-value[data-val="Houston"]`, chromedp.ByQuery),
		waitText("#active-filters", "city = Houston"), waitText("#page-info", fmt.Sprintf("of %d", houston)))

	// Sort by years (a column right of the fold), descending: the chip says so.
	p.run(t, "sort", chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitText("#active-filters", "sorted by years ↑"),
		chromedp.Click(`th button[aria-label="Sort by years"]`, chromedp.ByQuery),
		waitText("#active-filters", "sorted by years ↓"))
	var seen struct{ Hidden, Chip bool }
	p.run(t, "chip in view", chromedp.Evaluate(`(() => {
		const sc = document.querySelector("#ds-rows .scroll"); sc.scrollLeft = 0; scrollTo(0, 0);
		const th = document.querySelector('th[aria-sort="descending"]').getBoundingClientRect();
		const box = sc.getBoundingClientRect();
		const chip = document.querySelector("#active-filters .sort-chip").getBoundingClientRect();
		// the sorted column is out of the table's view, the chip is in the window's
		return {hidden: th.left >= box.right || th.right <= box.left, chip: chip.width > 0 && chip.top >= 0 && chip.bottom <= innerHeight};
	})()`, &seen))
	if !seen.Hidden {
		t.Log("the years column fits in the window: the chip is checked all the same")
	}
	if !seen.Chip {
		t.Error("the sort chip is not in view")
	}
	p.shot(t, "14-dataset-more-sort-chip")
	p.axe(t, "dataset with sort chip")
	p.run(t, "remove the sort", chromedp.Click("#active-filters .sort-chip", chromedp.ByQuery),
		waitJS(`document.querySelector('th[aria-sort="ascending"], th[aria-sort="descending"]') === null && !document.querySelector("#active-filters .sort-chip")`),
		waitText("#active-filters", "city = Houston"))
}
