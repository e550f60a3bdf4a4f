package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, opts LoadOptions) *Loaded {
	t.Helper()
	if opts.SearchPaths == nil {
		opts.SearchPaths = []string{}
	}
	if opts.Environ == nil {
		opts.Environ = []string{}
	}
	l, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDefaultsServeASingleBox(t *testing.T) {
	l := load(t, LoadOptions{})
	if l.Listen != "127.0.0.1:3110" || l.DataDir != "./data" || l.Storage.Backend != "local" || l.Embed.Provider != "builtin" {
		t.Fatalf("defaults = %+v", l.Config)
	}
	// _vectors/ is reserved for the vector module (the public PUT route
	// refuses it), so no prefix cap is needed by default.
	if l.Storage.CapFor("_vectors/x/snap") != 256<<20 || l.Storage.CapFor("datasets/x") != 256<<20 {
		t.Fatalf("caps: %d %d", l.Storage.CapFor("_vectors/x/snap"), l.Storage.CapFor("datasets/x"))
	}
	if f, d := l.Storage.Modes(); f != 0o600 || d != 0o700 {
		t.Fatalf("modes: %o %o", f, d)
	}
}

func TestLoadConfig_AuthTokenFromEnv(t *testing.T) {
	t.Run("default env name", func(t *testing.T) {
		l := load(t, LoadOptions{Environ: []string{"AUTH_TOKEN=from-env"}})
		if l.Auth.Token != "from-env" {
			t.Fatalf("token = %q", l.Auth.Token)
		}
	})
	t.Run("custom token_env", func(t *testing.T) {
		f := writeFile(t, "c.toml", "[auth]\ntoken_env = \"MY_TOKEN\"\n", 0o600)
		l := load(t, LoadOptions{File: f, Environ: []string{"AUTH_TOKEN=wrong", "MY_TOKEN=custom"}})
		if l.Auth.Token != "custom" {
			t.Fatalf("token = %q", l.Auth.Token)
		}
	})
	t.Run("explicit token wins", func(t *testing.T) {
		f := writeFile(t, "c.toml", "[auth]\ntoken = \"explicit\"\n", 0o600)
		l := load(t, LoadOptions{File: f, Environ: []string{"AUTH_TOKEN=from-env"}})
		if l.Auth.Token != "explicit" {
			t.Fatalf("token = %q", l.Auth.Token)
		}
	})
	t.Run("none", func(t *testing.T) {
		l := load(t, LoadOptions{})
		if l.Auth.Token != "" || l.Auth.Enabled() {
			t.Fatalf("token = %q", l.Auth.Token)
		}
	})
}

func TestUnknownKeyNamesKeyAndFile(t *testing.T) {
	f := writeFile(t, "bad.toml", "listen = \"127.0.0.1:1\"\n[storage]\nbackend = \"local\"\nbucket_name = \"x\"\n", 0o600)
	_, err := Load(LoadOptions{File: f, SearchPaths: []string{}, Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), "storage.bucket_name") || !strings.Contains(err.Error(), f) {
		t.Fatalf("err = %v, want the key and file named", err)
	}
}

func TestSyntaxErrorHasPosition(t *testing.T) {
	f := writeFile(t, "bad.toml", "listen = \n", 0o600)
	_, err := Load(LoadOptions{File: f, SearchPaths: []string{}, Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), f+":1:") {
		t.Fatalf("err = %v", err)
	}
}

func TestLayering(t *testing.T) {
	f := writeFile(t, "c.toml", `
listen = "127.0.0.1:4000"
data_dir = "/srv/a"
[storage]
put_cap = "1MiB"
max_concurrent_puts = 2
[query]
timeout = "5s"
`, 0o600)
	l := load(t, LoadOptions{
		File:     f,
		Environ:  []string{"LAKEHOUSE_DATA_DIR=/srv/b", "LAKEHOUSE_STORAGE_MAX_CONCURRENT_PUTS=7", "LAKEHOUSE_AUTH_ALLOWED_IPS=10.0.0.0/8, ::1", "LAKEHOUSE_QUERY_TIMEOUT=2s"},
		Override: func(c *Config) { c.Listen = "127.0.0.1:5000" },
	})
	if l.Listen != "127.0.0.1:5000" || l.DataDir != "/srv/b" || l.Storage.PutCap != 1<<20 || l.Storage.MaxConcurrentPuts != 7 {
		t.Fatalf("layered = listen %s dir %s cap %d puts %d", l.Listen, l.DataDir, l.Storage.PutCap, l.Storage.MaxConcurrentPuts)
	}
	if strings.Join(l.Auth.AllowedIPs, "|") != "10.0.0.0/8|::1" || l.Query.Timeout.D().String() != "2s" {
		t.Fatalf("env lists/durations: %v %v", l.Auth.AllowedIPs, l.Query.Timeout.D())
	}
	if l.File != f {
		t.Fatalf("file = %q", l.File)
	}
}

func TestBadEnvValueIsNamed(t *testing.T) {
	_, err := Load(LoadOptions{SearchPaths: []string{}, Environ: []string{"LAKEHOUSE_STORAGE_MAX_CONCURRENT_PUTS=many"}})
	if err == nil || !strings.Contains(err.Error(), "LAKEHOUSE_STORAGE_MAX_CONCURRENT_PUTS") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidationCollectsSectionErrors(t *testing.T) {
	f := writeFile(t, "c.toml", "[storage]\nbackend = \"s3\"\n[auth]\nallowed_ips = [\"not-a-cidr\"]\n", 0o600)
	_, err := Load(LoadOptions{File: f, SearchPaths: []string{}, Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), "storage.s3.endpoint") || !strings.Contains(err.Error(), "auth.allowed_ips") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretsFileLoadsAndWarnsWhenReadable(t *testing.T) {
	secrets := writeFile(t, "secrets.toml", "[storage.s3]\naccess_key = \"AK\"\nsecret_key = \"SK\"\n", 0o644)
	main := writeFile(t, "c.toml", "secrets_file = \""+secrets+"\"\n[storage]\nbackend = \"s3\"\n[storage.s3]\nendpoint = \"127.0.0.1:9000\"\n", 0o600)
	l := load(t, LoadOptions{File: main})
	if l.Storage.S3.AccessKey != "AK" || l.Storage.S3.SecretKey != "SK" {
		t.Fatalf("secrets not loaded: %+v", l.Storage.S3)
	}
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "chmod 600") {
		t.Fatalf("warnings = %v", l.Warnings)
	}
	if err := os.Chmod(secrets, 0o600); err != nil {
		t.Fatal(err)
	}
	if l := load(t, LoadOptions{File: main}); len(l.Warnings) != 0 {
		t.Fatalf("0600 secrets still warned: %v", l.Warnings)
	}
}

func TestRedactedHidesSecretsOnly(t *testing.T) {
	c := Default()
	c.Auth.Token = "tok"
	c.Auth.SecondaryTokens = []string{"old"}
	c.Storage.S3.SecretKey = "sk"
	out, err := c.Redacted().TOML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"'tok'", "'old'", "'sk'"} {
		if strings.Contains(out, secret) {
			t.Fatalf("printed config leaks %s:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "<redacted>") || !strings.Contains(out, "127.0.0.1:3110") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	if c.Auth.Token != "tok" {
		t.Fatal("Redacted changed the original")
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"4MiB": 4 << 20, "256MB": 256e6, "1g": 1 << 30, "1024": 1024, "1.5KiB": 1536} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("lots"); err == nil {
		t.Error("bad size accepted")
	}
}

// TestSectionsAreAllValidated: every struct section with a Validate is
// found without a hand list (the module sections among them).
func TestSectionsAreAllValidated(t *testing.T) {
	got := map[string]bool{}
	for _, s := range Default().Sections() {
		got[s.Name] = true
	}
	for _, want := range []string{"server", "auth", "storage", "catalog", "ingest", "query", "vector", "embed", "pathway", "observer", "mcp"} {
		if !got[want] {
			t.Errorf("section %q not validated", want)
		}
	}
}

func TestByteSizeAcceptsPlainIntegers(t *testing.T) {
	f := writeFile(t, "c.toml", "[storage]\nput_cap = 1048576\n[storage.prefix_caps]\n\"_vectors/\" = \"8GiB\"\n", 0o600)
	l := load(t, LoadOptions{File: f})
	if l.Storage.PutCap != 1<<20 || l.Storage.CapFor("_vectors/a") != 8<<30 {
		t.Fatalf("put_cap = %d, vectors cap = %d", l.Storage.PutCap, l.Storage.CapFor("_vectors/a"))
	}
}
