package kill9_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lakehouse/app/cli"
	"lakehouse/config"
	"lakehouse/internal/crashtest"
)

const childToken = "kill9-token"

// TestMain lets the test binary double as a lakehouse server (the crash
// child "server", internal/crashtest): it serves every module over the
// data dir it is given on 127.0.0.1:0 and prints its address, so the test
// can kill -9 it.
func TestMain(m *testing.M) {
	crashtest.Main(m, crashtest.Children{"server": runChild})
}

// childKeepVersions is the retention the child runs with.
const childKeepVersions = 6

func runChild(dir string) int {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = childToken
	// Small snapshot thresholds so compactions happen inside the kill window.
	cfg.Vector.CompactWALBytes = 64 << 10
	// Small retention and compaction thresholds, no grace: the kills land
	// in expiry, part compaction and deletes as well as in commits.
	cfg.Catalog.Retention.KeepVersions = childKeepVersions
	cfg.Catalog.Maintenance.CompactMinParts = 4
	cfg.Catalog.Maintenance.Grace = 0
	cfg.Catalog.Maintenance.Interval = config.Duration(time.Second)
	cfg.Catalog.Maintenance.MetadataFiles = 3
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ready := make(chan string, 1)
	go func() { fmt.Printf("LISTEN %s\n", <-ready) }()
	if err := cli.Serve(context.Background(), cfg, log, ready); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// child is one server process.
type child struct {
	cmd    *exec.Cmd
	exited chan error
	url    string
	http   *http.Client
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := crashtest.Command("server", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// A failing check must not leave a server behind.
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case addr := <-lines:
		return &child{cmd: cmd, exited: exited, url: "http://" + addr, http: &http.Client{Timeout: 30 * time.Second}}
	case err := <-exited:
		t.Fatalf("child server exited at start (a data dir that cannot restart): %v\n%s", err, stderr.String())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("child server did not start\n%s", stderr.String())
	}
	return nil
}

// kill sends SIGKILL; the process is reaped by the goroutine started with it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

func (c *child) do(method, path, ctype string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+childToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
