// Package storagetest holds what storage tests share: a real MinIO server
// started on 127.0.0.1 for the test, and the conformance suite every
// storage.Store backend must pass.
package storagetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lakehouse/config"
)

// MinIOBinary finds the MinIO server binary: $LAKEHOUSE_MINIO_BIN, the
// Makefile's cache ($HOME/.cache/lakehouse/bin/minio), then $PATH.
func MinIOBinary() (string, bool) {
	if p := os.Getenv("LAKEHOUSE_MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "lakehouse", "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, true
	}
	return "", false
}

var bucketSeq atomic.Int64

// StartMinIO starts a real MinIO server on 127.0.0.1 with a temp dir for
// this test and returns an S3 config for a fresh bucket on it (with
// CreateBucket set). Without a MinIO binary the test is skipped — except
// when CI=true, where a missing MinIO is a failure.
func StartMinIO(t testing.TB) config.S3Config {
	t.Helper()
	bin, ok := MinIOBinary()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal("MinIO server binary not found (run `make test-deps`, or set LAKEHOUSE_MINIO_BIN); CI requires it")
		}
		t.Skip("MinIO server binary not found; `make test` builds it (set LAKEHOUSE_MINIO_BIN)")
	}
	port := freePort(t)
	dir := t.TempDir()
	const user, pass = "lakehouse-test", "lakehouse-test-secret"
	cmd := exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "CI=")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// The server dies with the test process even if cleanup never runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start minio: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitReady(endpoint, 30*time.Second); err != nil {
		t.Fatalf("minio did not become ready: %v\n%s", err, out.String())
	}
	return config.S3Config{
		Endpoint: endpoint, Bucket: fmt.Sprintf("lakehouse-test-%d", bucketSeq.Add(1)),
		Region: "us-east-1", AccessKey: user, SecretKey: pass, CreateBucket: true,
	}
}

func waitReady(endpoint string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	url := "http://" + endpoint + "/minio/health/ready"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last error: %v)", url, limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
