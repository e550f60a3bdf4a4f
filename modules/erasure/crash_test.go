package erasure_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/erasure"
)

// TestMain lets the test binary act as the lakehouse CLI in a child
// process, which the crash test SIGKILLs in the middle of a job.
func TestMain(m *testing.M) {
	apptest.Main(m, func() {
		if stall := os.Getenv("LAKEHOUSE_TEST_ERASURE_STALL"); stall != "" {
			step, marker, _ := strings.Cut(stall, "=")
			erasure.SetAfterStep(func(s string) {
				if s == step {
					_ = os.WriteFile(marker, []byte(s), 0o644)
					time.Sleep(time.Hour)
				}
			})
		}
	})
}

// TestKill9DuringErasureResumes: a server killed after an erasure saved
// its replacements, and one killed after it rewrote a dataset's history
// but before it deleted the old parts, finish the job at the next start:
// the same rows are gone, every other row of every version is intact,
// and no object holds the person.
func TestKill9DuringErasureResumes(t *testing.T) {
	for _, step := range []string{"rewrites-saved", "history-rewritten"} {
		t.Run(step, func(t *testing.T) {
			data := t.TempDir()
			s := apptest.Start(t, func(c *config.Config) { c.DataDir = data })
			seed(t, s)
			before := versionsOf(t, s)
			s.Stop(t)

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			marker := filepath.Join(t.TempDir(), "marker")
			cmd := apptest.Child([]string{"AUTH_TOKEN=" + apptest.Token, "LAKEHOUSE_LOG_LEVEL=warn",
				"LAKEHOUSE_TEST_ERASURE_STALL=" + step + "=" + marker}, "--data-dir", data, "serve", "--listen", addr)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			child := s.As(apptest.Token)
			child.URL = "http://" + addr
			apptest.WaitFor(t, "the child server", func() bool {
				resp, err := http.Get(child.URL + "/health")
				if err == nil {
					resp.Body.Close()
				}
				return err == nil && resp.StatusCode == 200
			})
			var job struct {
				ID string `json:"id"`
			}
			child.JSON(t, "POST", "/v1/erasure", map[string]any{
				"match": map[string]any{"candidate_id": []string{targetID}}, "value": targetEmail}, 202, &job)
			apptest.WaitForFile(t, marker, 60*time.Second)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()

			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.Auth.Token = data, "127.0.0.1:0", apptest.Token
			s2 := apptest.StartConfig(t, cfg)
			var got struct {
				Status  string          `json:"status"`
				Receipt json.RawMessage `json:"receipt"`
			}
			apptest.WaitFor(t, "the resumed job", func() bool {
				s2.JSON(t, "GET", "/v1/erasure/"+job.ID, nil, 200, &got)
				return got.Status == "done"
			})
			after := versionsOf(t, s2)
			for v, rows := range before {
				var want []string
				for _, r := range rows {
					if !mentions(r) {
						want = append(want, r)
					}
				}
				if fmt.Sprint(want) != fmt.Sprint(after[v]) {
					t.Errorf("%s after the resumed erasure:\n got %v\nwant %v", v, after[v], want)
				}
			}
			err = filepath.Walk(filepath.Join(data, "objects"), func(p string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if objectMentions(t, p, b) {
					t.Errorf("%s still holds the person after the resumed job", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
