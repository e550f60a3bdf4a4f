package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSQLErrorClearsResult: the bug — after an SQL error the
// previous result, chart and export links stayed on screen. What is shown
// must belong to the SQL in the editor.
func TestSQLErrorClearsResult(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	p.run(t, "a result with a chart", chromedp.Navigate(s.URL+"/#/sql"), chromedp.WaitVisible("#sql-editor", chromedp.ByID),
		chromedp.SetValue("#sql-editor", "SELECT role, COUNT(*) AS n FROM candidates GROUP BY role ORDER BY n DESC, role", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sql-params").replaceChildren()`, nil),
		chromedp.Click("#sql-run", chromedp.ByID), waitText("#sql-result", "Forklift Driver"),
		chromedp.Click("#chart-bar", chromedp.ByID), waitJS(`document.querySelector("#chart canvas") !== null`),
		waitJS(`!document.getElementById("sql-export-csv").hidden`))
	cleared := `document.querySelectorAll("#sql-result tr").length === 0 && document.getElementById("chart-box").hidden &&
		!document.querySelector("#chart canvas") && document.getElementById("chart-bar").disabled && document.getElementById("chart-line").disabled &&
		["csv", "json", "parquet"].every(f => { const a = document.getElementById("sql-export-" + f); return a.hidden && !a.getAttribute("href"); })`
	p.run(t, "an error", chromedp.SetValue("#sql-editor", "SELEC role FROM candidates", chromedp.ByID),
		chromedp.Click("#sql-run", chromedp.ByID), waitText("#sql-error", "SELEC"), waitJS(cleared))
	p.shot(t, "15-sql-error-cleared")
	p.axe(t, "sql after an error")
	// Back to the query that worked: its result again, and then a new
	// run that fails on the server (not the parser) clears it too.
	p.run(t, "back", chromedp.NavigateBack(), waitText("#sql-result", "Forklift Driver"), waitJS(`!document.getElementById("sql-export-csv").hidden`),
		waitJS(`document.getElementById("sql-error").textContent === ""`))
	p.run(t, "unknown table", chromedp.SetValue("#sql-editor", "SELECT * FROM no_such_table", chromedp.ByID),
		chromedp.Click("#sql-run", chromedp.ByID), waitText("#sql-error", "no_such_table"), waitJS(cleared))
}
