package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"lakehouse/app/cli"
)

// `lakehouse demo seed --data-dir` seeds a data dir in-process through
// the HTTP path; a second run says nothing changed.
func TestDemoSeedDataDirIsIdempotent(t *testing.T) {
	dir, conf := t.TempDir(), writeEmptyConfig(t)
	args := []string{"demo", "seed", "--config", conf, "--data-dir", dir, "--scale", "0.002"}
	var out, errb bytes.Buffer
	if code := cli.Main(args, &out, &errb); code != 0 {
		t.Fatalf("first seed: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"candidates       200 rows  v1   new version", "index candidates", "saved 3 example queries", "lakehouse serve --data-dir"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("first run output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := cli.Main(args, &out, &errb); code != 0 {
		t.Fatalf("second seed: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "nothing changed") {
		t.Errorf("second run:\n%s", out.String())
	}
	// Nothing answers at a wrong --server: the error says what to do.
	out.Reset()
	errb.Reset()
	code := cli.Main([]string{"demo", "seed", "--config", conf, "--server", "http://127.0.0.1:1", "--scale", "0.002"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--data-dir") {
		t.Errorf("no server: exit %d, %s", code, errb.String())
	}
}
