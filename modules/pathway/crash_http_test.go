package pathway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"lakehouse/app/cli"
	"lakehouse/config"
	"lakehouse/internal/crashtest"
	"lakehouse/modules/pathway"
)

const crashToken = "crash-token"

func init() {
	// The child: a real lakehouse server (pathway only) on the data dir,
	// printing its address, until it is killed.
	pathway.CrashChildren["http"] = func(dataDir string) int {
		cfg := config.Default()
		cfg.DataDir, cfg.Listen, cfg.Modules = dataDir, "127.0.0.1:0", []string{"pathway"}
		cfg.Auth.Token = crashToken
		ready := make(chan string, 1)
		go func() {
			addr := <-ready
			fmt.Println(addr)
		}()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if err := cli.Serve(context.Background(), cfg, log, ready); err != nil {
			fmt.Fprintln(os.Stderr, "child serve:", err)
			return 2
		}
		return 0
	}
}

// TestCrash_Kill9_HTTP: SIGKILL a real server while 8 clients POST
// /v1/pathway/add; every add answered 200 is in the log after restart.
func TestCrash_Kill9_HTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	dir := t.TempDir()
	cmd := crashtest.Command("http", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child did not report its address: %v", err)
	}
	url := "http://" + line[:len(line)-1] + "/v1/pathway/add"

	type acked struct{ uid, content string }
	var (
		mu    sync.Mutex
		acks  []acked
		wg    sync.WaitGroup
		kill  = make(chan struct{})
		once  sync.Once
		hc    = &http.Client{Timeout: 10 * time.Second}
		start = time.Now()
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				content := fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)
				req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(`{"content":`+content+`}`)))
				req.Header.Set("Authorization", "Bearer "+crashToken)
				resp, err := hc.Do(req)
				if err != nil {
					return // the server is gone
				}
				var tr struct{ UID string }
				json.NewDecoder(resp.Body).Decode(&tr)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					continue
				}
				mu.Lock()
				acks = append(acks, acked{tr.UID, content})
				n := len(acks)
				mu.Unlock()
				if n >= 300 || time.Since(start) > 20*time.Second {
					once.Do(func() { close(kill) })
				}
			}
		}(w)
	}
	<-kill
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wg.Wait()

	cfg := config.Default()
	cfg.DataDir = dir
	svc, err := pathway.Open(pathway.LogPath(cfg), pathway.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, a := range acks {
		got, err := svc.Get(context.Background(), a.uid)
		if err != nil || string(got.Content) != a.content {
			t.Fatalf("add answered 200 (uid %s, %s) lost after kill -9: %v", a.uid, a.content, err)
		}
	}
	t.Logf("%d adds answered 200 before kill -9, all present; replay %+v", len(acks), svc.ReplayStats())
}
