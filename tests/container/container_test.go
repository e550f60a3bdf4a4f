package container

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lakehouse/tests/smoke"
)

const (
	image  = "localhost/lakehouse:container-test"
	volume = "lakehouse-data"
	token  = "container-token"
	// caBundle is what the image ships for TLS to S3 and embedding
	// providers: scratch has no certificates of its own.
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// podman runs podman against an isolated store under one temp dir.
type podman struct {
	bin  string
	args []string // global flags
	env  []string
}

// newPodman sets podman up under dir: vfs storage (no overlay mounts),
// runc (Debian's crun refuses these hosts' hybrid cgroups), cgroupfs and a
// file event log (no systemd), and no default ulimits (the sandbox refuses
// raising them). Containers use slirp4netns, so nothing touches the host's
// firewall or CNI state.
func newPodman(t *testing.T, dir string) *podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not found: `make test-container` installs podman and runc (apt)")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not found: `make test-container` installs podman and runc (apt)")
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &podman{
		bin: bin,
		args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver", "vfs", "--runtime", runc, "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--tmpdir", filepath.Join(dir, "tmp")},
		env: append(os.Environ(), "CONTAINERS_CONF="+conf),
	}
}

// run runs one podman command and returns its exit code, stdout and stderr.
func (p *podman) run(args ...string) (int, string, string, error) {
	cmd := exec.Command(p.bin, append(append([]string{}, p.args...), args...)...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String(), nil
	}
	return 0, stdout.String(), stderr.String(), err
}

// must runs one podman command that must succeed and returns its stdout.
func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut, err := p.run(args...)
	if err != nil || code != 0 {
		t.Fatalf("podman %s: exit %d %v\n%s%s", strings.Join(args, " "), code, err, out, errOut)
	}
	return out
}

// TestDockerRun builds the runtime image from the built binary and runs it
// as the README says, on a named volume: without a token the container
// exits with the gate's message; with one /health answers with the
// binary's version, the gate is on, a CSV ingests, SQL reads it, the
// built-in encoder works offline and the CLI runs inside the image (no
// shell, no /tmp); a graceful stop exits 0; a new container on the same
// volume still has the data and takes the next version.
func TestDockerRun(t *testing.T) {
	bin := smoke.Binary(t)
	dir := t.TempDir()
	p := newPodman(t, dir)
	// Containers and the volume go before the temp dir does (conmon and
	// rootlessport are podman's processes; rm -f ends them).
	t.Cleanup(func() {
		_, _, _, _ = p.run("rm", "--force", "--all", "--time", "0")
		_, _, _, _ = p.run("volume", "rm", "--force", "--all")
	})

	// The build context holds what Dockerfile.prebuilt copies, nothing else.
	ctx := filepath.Join(dir, "context")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(caBundle); err != nil {
		t.Skipf("no CA bundle at %s to put into the image (Debian: ca-certificates)", caBundle)
	}
	linkOrCopy(t, bin, filepath.Join(ctx, "lakehouse"))
	linkOrCopy(t, caBundle, filepath.Join(ctx, "ca-certificates.crt"))
	start := time.Now()
	p.must(t, "build", "--file", filepath.Join("..", "..", "Dockerfile.prebuilt"), "--tag", image, ctx)
	t.Logf("image built in %s", time.Since(start).Round(time.Millisecond))
	p.must(t, "volume", "create", volume)

	// The image carries the CA bundle it was given, byte for byte.
	p.must(t, "create", "--name", "probe", image)
	got := filepath.Join(dir, "ca-from-image.crt")
	p.must(t, "cp", "probe:"+caBundle, got)
	if a, b := readFile(t, caBundle), readFile(t, got); !bytes.Equal(a, b) {
		t.Fatalf("the image's %s differs from the host's (%d vs %d bytes)", caBundle, len(b), len(a))
	}
	p.must(t, "rm", "probe")

	// No token: serve refuses 0.0.0.0 and the container exits with the
	// gate's message (exit 2, a usage error).
	code, out, errOut, err := p.run("run", "--rm", "--network", "none", "--volume", volume+":/data", image)
	if err != nil || code != 2 || !strings.Contains(errOut+out, "refusing to listen on 0.0.0.0:3110 without a token") {
		t.Fatalf("without a token: exit %d %v, want 2 and the gate's refusal\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}

	version := strings.Fields(runOut(t, bin, "version"))[1]
	c := runContainer(t, p, "lh1")
	var health struct{ Status, Version string }
	(&smoke.Client{URL: c.URL}).Call(t, "GET", "/health", nil, 200, &health)
	if health.Status != "ok" || health.Version != version {
		t.Fatalf("/health %+v, want ok and the binary's version %s", health, version)
	}
	(&smoke.Client{URL: c.URL}).Fail(t, "GET", "/v1/catalog/list", nil, 401, "")

	var v1 struct {
		Version  int   `json:"version"`
		RowCount int64 `json:"row_count"`
	}
	c.Call(t, "POST", "/v1/ingest?name=placements", smoke.Raw{Type: "text/csv",
		Data: []byte("candidate_id,city,bill_rate\nCAND-000001,Chicago,40\nCAND-000002,Chicago,42.5\nCAND-000003,Gary,30\n")}, 201, &v1)
	if v1.Version != 1 || v1.RowCount != 3 {
		t.Fatalf("ingest: %+v", v1)
	}
	const q = `SELECT city, count(*), sum(bill_rate) FROM placements GROUP BY city ORDER BY city`
	if got := fmt.Sprint(c.SQL(t, q)); got != "[[Chicago 2 82.5] [Gary 1 30]]" {
		t.Fatalf("SQL in the container: %s", got)
	}
	var emb struct {
		Dimension int `json:"dimension"`
	}
	c.Call(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift driver"}}, 200, &emb)
	if emb.Dimension != 512 {
		t.Fatalf("built-in encoder in the image: dimension %d", emb.Dimension)
	}
	// The CLI inside the image (the token is in its environment).
	cli := p.must(t, "exec", "lh1", "/lakehouse", "query", "SELECT count(*) AS n FROM placements",
		"--server", "http://127.0.0.1:3110", "--format", "csv")
	if strings.TrimSpace(cli) != "n\n3" {
		t.Fatalf("lakehouse query inside the container: %q", cli)
	}

	// A graceful stop (SIGTERM to the binary as PID 1) exits 0.
	p.must(t, "stop", "--time", "30", "lh1")
	if st := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.ExitCode}}", "lh1")); st != "0" {
		t.Fatalf("lh1 exited %s after SIGTERM\n%s", st, p.must(t, "logs", "lh1"))
	}
	p.must(t, "rm", "lh1")

	// A new container on the same volume: the data is in the volume.
	c = runContainer(t, p, "lh2")
	if got := fmt.Sprint(c.SQL(t, q)); got != "[[Chicago 2 82.5] [Gary 1 30]]" {
		t.Fatalf("SQL after a new container on the same volume: %s", got)
	}
	var v2 struct {
		Version  int   `json:"version"`
		RowCount int64 `json:"row_count"`
	}
	c.Call(t, "POST", "/v1/ingest?name=placements&mode=append", smoke.Raw{Type: "text/csv",
		Data: []byte("candidate_id,city,bill_rate\nCAND-000004,Joliet,35\n")}, 201, &v2)
	if v2.Version != 2 || v2.RowCount != 4 {
		t.Fatalf("append after the restart: %+v", v2)
	}
}

// container is a running container and a client for its published port.
type container struct {
	*smoke.Client
}

// runContainer starts the image with the token, the volume and the port
// published on 127.0.0.1 only, and waits for /health.
func runContainer(t *testing.T, p *podman, name string) container {
	t.Helper()
	port := freePort(t)
	p.must(t, "run", "--detach", "--name", name, "--network", "slirp4netns",
		"--publish", fmt.Sprintf("127.0.0.1:%d:3110", port), "--env", "AUTH_TOKEN="+token,
		"--volume", volume+":/data", image)
	c := &smoke.Client{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Token: token,
		Log: func() string { _, out, errOut, _ := p.run("logs", "--tail", "40", name); return out + errOut }}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, c.Log())
	}
	return container{c}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// linkOrCopy puts src at dst: a hard link when both are on one file
// system (the binary is 130 MB), else a copy.
func linkOrCopy(t *testing.T, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runOut(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return string(out)
}

// TestDockerfilesAgree: Dockerfile.prebuilt is Dockerfile's last stage with
// the files copied from the build context instead of the build stage; the
// rest (environment, volume, port, entry point) must not drift apart, or
// the tested image would not be the documented one.
func TestDockerfilesAgree(t *testing.T) {
	stage := func(path string) []string {
		t.Helper()
		var out []string
		for _, line := range strings.Split(string(readFile(t, path)), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(line, "FROM "):
				out = []string{line}
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "COPY "):
				// Where from differs by design; where to must not.
				f := strings.Fields(line)
				out = append(out, "COPY … "+f[len(f)-1])
			default:
				out = append(out, line)
			}
		}
		return out
	}
	a, b := stage(filepath.Join("..", "..", "Dockerfile")), stage(filepath.Join("..", "..", "Dockerfile.prebuilt"))
	if strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) < 5 || a[0] != "FROM scratch" {
		t.Fatalf("the runtime stages differ:\nDockerfile:\n%s\n\nDockerfile.prebuilt:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}
