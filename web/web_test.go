package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"lakehouse/app/apptest"
)

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

// browser starts a real headless Chromium with the flags this machine needs.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

func TestUIListsDatasetsAndRunsSQL(t *testing.T) {
	s := apptest.Start(t)
	csv := "candidate_id,name,city,years\nCAND-000001,Ada,Chicago,7\nCAND-000002,Bo,Denver,2\n"
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=candidates", strings.NewReader(csv)); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	ctx := browser(t)
	var health, datasets, result, sqlErr string
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.URL+"/"),
		// The token field is how a person logs in; set it as they would.
		chromedp.SendKeys("#token", s.Token, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("token").dispatchEvent(new Event("change"))`, nil),
		chromedp.WaitVisible(`#datasets tbody tr`, chromedp.ByQuery),
		chromedp.Text("#health", &health, chromedp.ByID),
		chromedp.Text("#datasets", &datasets, chromedp.ByID),
		chromedp.Click(`nav button[data-tab="sql"]`, chromedp.ByQuery),
		chromedp.SetValue("#sql", "SELECT name, years FROM candidates ORDER BY years DESC", chromedp.ByID),
		chromedp.Click("#run-sql", chromedp.ByID),
		chromedp.WaitVisible(`#sql-result tbody tr`, chromedp.ByQuery),
		chromedp.Text("#sql-result", &result, chromedp.ByID),
		chromedp.SetValue("#sql", "SELECT * FROM missing_table", chromedp.ByID),
		chromedp.Click("#run-sql", chromedp.ByID),
		chromedp.Poll(`document.getElementById("sql-error").textContent.length > 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text("#sql-error", &sqlErr, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.HasPrefix(health, "ok") {
		t.Errorf("health pill = %q", health)
	}
	if !strings.Contains(datasets, "candidates") {
		t.Errorf("datasets table = %q", datasets)
	}
	if i, j := strings.Index(result, "Ada"), strings.Index(result, "Bo"); i < 0 || j < 0 || i > j {
		t.Errorf("SQL result = %q", result)
	}
	if !strings.Contains(sqlErr, "400") {
		t.Errorf("SQL error shown = %q", sqlErr)
	}
}

func TestUIWithoutTokenShowsTheServersRefusal(t *testing.T) {
	s := apptest.Start(t)
	ctx := browser(t)
	var msg string
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.Poll(`document.getElementById("ingest-result").textContent.length > 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text("#ingest-result", &msg, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(msg, "401") {
		t.Errorf("message = %q, want the 401", msg)
	}
}
