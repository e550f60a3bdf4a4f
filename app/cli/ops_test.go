package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/cli"
)

func TestConfigPrintRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "lakehouse.toml")
	body := "[auth]\ntoken = \"super-secret\"\nsecondary_tokens = [\"old-secret\"]\n[storage.s3]\nsecret_key = \"s3-secret\"\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"config", "print", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, s := range []string{"super-secret", "old-secret", "s3-secret"} {
		if strings.Contains(out.String(), s) {
			t.Fatalf("config print leaks %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "<redacted>") || !strings.Contains(out.String(), cfgPath) {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestConfigUnknownKeyExits2NamingIt(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "lakehouse.toml")
	if err := os.WriteFile(cfgPath, []byte("[storage]\nbakend = \"s3\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Main([]string{"serve", "--config", cfgPath}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "storage.bakend") || !strings.Contains(errb.String(), cfgPath) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestDoctorReportsOKAndFailuresWithFixes(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Main([]string{"doctor", "--json", "--config", writeEmptyConfig(t), "--data-dir", t.TempDir()}, &out, &errb)
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Error, Fix string
			OK               bool
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if code != 0 || !rep.OK || len(rep.Checks) < 3 {
		t.Fatalf("healthy doctor: exit %d, %+v", code, rep)
	}

	// An S3 endpoint nobody listens on: doctor fails and says what to fix.
	cfgPath := filepath.Join(t.TempDir(), "s3.toml")
	s3 := "[storage]\nbackend = \"s3\"\n[storage.s3]\nendpoint = \"127.0.0.1:1\"\nbucket = \"b\"\naccess_key = \"a\"\nsecret_key = \"s\"\n"
	if err := os.WriteFile(cfgPath, []byte(s3), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code = cli.Main([]string{"doctor", "--config", cfgPath, "--data-dir", t.TempDir()}, &out, &errb)
	if code == 0 || !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "fix:") || !strings.Contains(out.String(), "[storage.s3]") {
		t.Fatalf("doctor with dead S3: exit %d\n%s", code, out.String())
	}
}
