package vector_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/app/cli"
	"lakehouse/config"
	"lakehouse/internal/crashtest"
)

const (
	childCompactEnv = "LAKEHOUSE_VECTOR_CHILD_COMPACT"
	childToken      = "kill9-token"
)

// TestMain lets the test binary double as a lakehouse server (the crash
// child "server", internal/crashtest): it serves on 127.0.0.1:0 over the
// data dir it is given and prints its address, so a test can kill -9 it.
func TestMain(m *testing.M) {
	crashtest.Main(m, crashtest.Children{"server": runChild})
}

func runChild(dir string) int {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = childToken
	cfg.Modules = []string{"storage", "vector"}
	if v := os.Getenv(childCompactEnv); v != "" {
		n, _ := strconv.Atoi(v)
		cfg.Vector.CompactWALBytes = config.ByteSize(n)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ready := make(chan string, 1)
	go func() { fmt.Printf("LISTEN %s\n", <-ready) }()
	if err := cli.Serve(context.Background(), cfg, log, ready); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

type child struct {
	cmd  *exec.Cmd
	url  string
	http *http.Client
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := crashtest.Command("server", dir, childCompactEnv+"=200000")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				lines <- addr
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-lines:
		return &child{cmd: cmd, url: "http://" + addr, http: &http.Client{Timeout: 30 * time.Second}}
	case <-time.After(60 * time.Second):
		t.Fatal("child server did not start")
	}
	return nil
}

func (c *child) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, r)
	req.Header.Set("Authorization", "Bearer "+childToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// TestKill9KeepsAcknowledgedBatches: two writers add batches (and delete
// items) as fast as the server takes them, with size-triggered snapshots
// happening on the way; the server is killed with SIGKILL mid-stream. After
// a restart every acknowledged item is there with its metadata, and every
// acknowledged delete stayed deleted.
func TestKill9KeepsAcknowledgedBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	const dim = 32
	if st, body, err := c.do("POST", "/v1/vectors/index", map[string]any{"name": "k9", "dimension": dim}); err != nil || st != 201 {
		t.Fatalf("create: %d %s %v", st, body, err)
	}
	var (
		mu      sync.Mutex
		acked   = map[string]float64{} // id → metadata "seq"
		deleted = map[string]bool{}    // delete acknowledged
		tried   = map[string]bool{}    // delete sent: either outcome is valid unless acknowledged
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				var items []map[string]any
				for i := 0; i < 40; i++ {
					v := make([]float32, dim)
					for j := range v {
						v[j] = float32(rng.NormFloat64())
					}
					id := fmt.Sprintf("w%d-b%d-i%d", w, b, i)
					items = append(items, map[string]any{"id": id, "vector": v, "text": "welder " + id + " AWS D1.1",
						"metadata": map[string]any{"seq": b*100 + i}})
				}
				st, _, err := c.do("POST", "/v1/vectors/index/k9/add", map[string]any{"items": items})
				if err != nil {
					return // the server died mid-request: not acknowledged
				}
				if st != 200 {
					t.Errorf("add: status %d", st)
					return
				}
				mu.Lock()
				for _, it := range items {
					acked[it["id"].(string)] = float64(it["metadata"].(map[string]any)["seq"].(int))
				}
				mu.Unlock()
				if b%5 == 4 {
					id := fmt.Sprintf("w%d-b%d-i0", w, b)
					mu.Lock()
					tried[id] = true
					mu.Unlock()
					if st, _, err := c.do("DELETE", "/v1/vectors/index/k9/items/"+id, nil); err == nil && st == 204 {
						mu.Lock()
						deleted[id] = true
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	// Let a good number of batches (and a few compactions) through, then
	// SIGKILL with requests in flight.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 4000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 200 {
		t.Fatalf("only %d items acknowledged before the kill", len(acked))
	}

	c2 := startChild(t, dir)
	st, body, err := c2.do("POST", "/v1/vectors/index/k9/search", map[string]any{"vector": make32(dim), "k": 10000, "ef": 10000})
	if err != nil || st != 200 {
		t.Fatalf("search after restart: %d %s %v", st, body, err)
	}
	var sr struct {
		Results []struct {
			ID       string         `json:"id"`
			Metadata map[string]any `json:"metadata"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &sr); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range sr.Results {
		got[r.ID], _ = r.Metadata["seq"].(float64)
	}
	missing := 0
	for id, seq := range acked {
		if deleted[id] {
			if _, back := got[id]; back {
				t.Errorf("acknowledged delete of %s undone by the restart", id)
			}
			continue
		}
		if tried[id] {
			continue // the delete was in flight at the kill
		}
		g, ok := got[id]
		if !ok || g != seq {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged item %s missing or wrong after kill -9 (got %v, ok %v)", id, g, ok)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged items lost", missing, len(acked))
	}
	// The keyword index came back too: each item's own code finds it
	// first; an acknowledged delete finds nothing of it.
	var probe []string
	for id := range deleted {
		probe = append(probe, id)
	}
	for id := range acked {
		if !tried[id] && len(probe) < len(deleted)+200 {
			probe = append(probe, id)
		}
	}
	for _, id := range probe {
		st, body, err := c2.do("POST", "/v1/vectors/index/k9/search", map[string]any{"mode": "keyword", "text": id, "k": 1})
		if err != nil || st != 200 {
			t.Fatalf("keyword search after restart: %d %s %v", st, body, err)
		}
		var kr struct {
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
		}
		_ = json.Unmarshal(body, &kr)
		found := len(kr.Results) == 1 && kr.Results[0].ID == id
		if deleted[id] == found {
			t.Errorf("keyword search for %s after kill -9: %s (deleted %v)", id, body, deleted[id])
		}
	}
	t.Logf("%d items acknowledged (%d deletes) before SIGKILL; all present after restart (%d returned)", len(acked), len(deleted), len(got))
}

func make32(dim int) []float32 {
	v := make([]float32, dim)
	v[0] = 1
	return v
}
