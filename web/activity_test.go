package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestActivityInPeoplesWords: the Activity page showed raw routes
// ("POST /v1/ingest"). After an ingest, a saved query and an erasure made
// through the API, the feed says what each did, in words, linking to the
// dataset, the saved query and the erasure receipt; a failed call keeps
// its method and route (and its error).
func TestActivityInPeoplesWords(t *testing.T) {
	s, p := seeded(t, 3*time.Minute)
	resp, body := s.DoHeader(t, "POST", "/v1/ingest?name=pets", "name,kind\nRex,dog\nTom,cat\nNemo,fish\n", http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	s.JSON(t, "PUT", "/v1/workbench/queries/top-cities", map[string]any{"name": "Top cities",
		"sql": "SELECT city, count(*) AS n FROM candidates GROUP BY city ORDER BY n DESC", "params": []any{}}, 201, nil)
	s.Fail(t, "PUT", "/v1/workbench/queries/top-cities", map[string]any{"name": "Top cities", "sql": "SELEC city", "params": []any{}}, 400)
	var job struct{ ID string }
	s.JSON(t, "POST", "/v1/erasure?wait=true", map[string]any{"match": map[string][]string{"name": {"Rex"}}, "datasets": []string{"pets"}}, 200, &job)
	if job.ID == "" {
		t.Fatal("erasure answered no job id")
	}

	feed := "#activity-feed tbody"
	p.run(t, "activity", chromedp.Navigate(s.URL+"/#/activity"), chromedp.WaitVisible("#activity-feed", chromedp.ByID),
		waitText(feed, "admin ingested 3 rows into pets (v1)"),
		waitText(feed, "admin saved the new query “Top cities” (version 1)"),
		waitText(feed, "admin erased a person (receipt "+job.ID+")"),
		waitText(feed, "The erasure "+job.ID+" finished: 1 row erased"),
		// The failed save has no sentence: its route and error say what it was.
		waitText(feed, "PUT /v1/workbench/queries/:id"),
		waitJS(`document.querySelector("#activity-feed a[href='#/datasets/pets']")?.textContent === "pets"`),
		waitJS(`document.querySelector("#activity-feed a[href='#/sql?saved=top-cities']")?.textContent === "“Top cities”"`),
		waitJS(`document.querySelector("#activity-feed a[href='/v1/erasure/`+job.ID+`']") !== null`))
	// The ingest's route is not shown as the description any more.
	var raw bool
	p.run(t, "no raw ingest route", chromedp.Evaluate(`[...document.querySelectorAll("#activity-feed td.what")].some(td => td.textContent.startsWith("POST /v1/ingest"))`, &raw))
	if raw {
		t.Error(`the feed still says "POST /v1/ingest"`)
	}
	p.shot(t, "17-activity-in-words")
	p.axe(t, "activity")

	p.run(t, "to the dataset", chromedp.Click(`#activity-feed a[href='#/datasets/pets']`, chromedp.ByQuery),
		waitJS(`location.hash === "#/datasets/pets"`), waitText("#page-dataset", "Nemo"))
	p.run(t, "to the saved query", chromedp.NavigateBack(), waitText(feed, "Top cities"),
		chromedp.Click(`#activity-feed a[href='#/sql?saved=top-cities']`, chromedp.ByQuery),
		waitJS(`document.getElementById("sql-editor").value.startsWith("SELECT city, count(*) AS n FROM candidates")`))
}
