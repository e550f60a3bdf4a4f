package smoke

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lakehouse/config"
)

// token is the bearer token every smoke server runs with: a token makes
// the server behave as deployed (the gate on, every route authenticated).
const token = "smoke-token"

// node is one data dir and the config file that serves it; successive
// servers started from it are restarts of the same node.
type node struct {
	dir    string // the config file's directory, and the CLI's working dir
	config string
	s3     *config.S3Config
}

// newNode writes a config for a fresh data dir: 127.0.0.1 on a port the
// kernel picks, JSON logs (the suite reads the bound address from them),
// the token, and the S3 bucket when s3 is non-nil. Everything else is the
// product's default, which is what the suite is meant to exercise.
func newNode(t *testing.T, s3 *config.S3Config) *node {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("listen = \"127.0.0.1:0\"\n")
	b.WriteString("data_dir = " + strconv.Quote(filepath.Join(dir, "data")) + "\n")
	b.WriteString("[log]\nformat = \"json\"\nlevel = \"info\"\n")
	b.WriteString("[auth]\ntoken = " + strconv.Quote(token) + "\n")
	if s3 != nil {
		b.WriteString("[storage]\nbackend = \"s3\"\n[storage.s3]\n")
		for k, v := range map[string]string{"endpoint": s3.Endpoint, "bucket": s3.Bucket, "region": s3.Region,
			"access_key": s3.AccessKey, "secret_key": s3.SecretKey} {
			b.WriteString(k + " = " + strconv.Quote(v) + "\n")
		}
		b.WriteString("create_bucket = true\n")
	}
	cfg := filepath.Join(dir, "lakehouse.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return &node{dir: dir, config: cfg, s3: s3}
}

// dataDir is the node's data directory.
func (n *node) dataDir() string { return filepath.Join(n.dir, "data") }

// server is one running `lakehouse serve` process.
type server struct {
	*Client
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the process's exit, once exited is closed
	log    *logBuffer
}

// childEnv is this process's environment without the variables the
// product reads (LAKEHOUSE_*, AUTH_TOKEN), so a developer's shell cannot
// change what the suite checks; extra is added after.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LAKEHOUSE_") || strings.HasPrefix(kv, "AUTH_TOKEN=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// start runs `lakehouse serve` on the node and waits until it listens.
func (n *node) start(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"serve", "--config", n.config}, args...)...)
	cmd.Dir = n.dir
	cmd.Env = childEnv()
	// The server dies with the test process even when cleanup never runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{}), log: &logBuffer{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.log.add(line)
			var l struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" && l.Addr != "" {
				select {
				case addr <- l.Addr:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case a := <-addr:
		s.Client = &Client{URL: "http://" + a, Token: token, Log: s.log.tail}
		return s
	case <-s.exited:
		t.Fatalf("lakehouse serve exited at start: %v\n%s", s.err, s.log.tail())
	case <-time.After(60 * time.Second):
		t.Fatalf("lakehouse serve did not listen within 60 s\n%s", s.log.tail())
	}
	return nil
}

// stop sends SIGTERM and waits for the graceful exit, which must succeed.
func (s *server) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.err != nil {
			t.Fatalf("lakehouse serve exited with %v after SIGTERM\n%s", s.err, s.log.tail())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lakehouse serve still running 30 s after SIGTERM\n%s", s.log.tail())
	}
}

// kill sends SIGKILL (a crash: nothing is flushed) and reaps the process.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// cli runs one lakehouse command against the node (its config, the token
// in AUTH_TOKEN) and returns its stdout; a non-zero exit fails the test.
func (n *node) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(Binary(t), append(args, "--config", n.config)...)
	cmd.Dir = n.dir
	cmd.Env = childEnv("AUTH_TOKEN=" + token)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lakehouse %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// logBuffer keeps a server's last log lines for failure messages.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if len(b.lines) > 200 {
		b.lines = b.lines[len(b.lines)-100:]
	}
}

func (b *logBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := max(0, len(b.lines)-40)
	return strings.Join(b.lines[n:], "\n")
}
