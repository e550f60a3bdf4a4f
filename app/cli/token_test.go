package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// TestTokenCreatePrintsTokenOnceAndOnlyItsHashInTheEntry: the printed
// entry parses as config, validates, and holds the hash of the printed
// token, never the token; a bad role is a usage error.
func TestTokenCreatePrintsTokenOnceAndOnlyItsHashInTheEntry(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"token", "create", "--name", "agent", "--role", "reader", "--datasets", "candidates,jobs_*"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	tok := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(tok, "lh_") || len(tok) < 40 {
		t.Fatalf("token line %q", tok)
	}
	entry := strings.Join(lines[2:], "\n")
	if strings.Contains(entry, tok) {
		t.Fatal("the config entry holds the token")
	}
	var cfg struct {
		Auth config.AuthConfig `toml:"auth"`
	}
	if err := toml.Unmarshal([]byte(entry), &cfg); err != nil {
		t.Fatalf("entry does not parse: %v\n%s", err, entry)
	}
	if err := cfg.Auth.Validate(); err != nil {
		t.Fatal(err)
	}
	p := cfg.Auth.Principals[0]
	if p.Name != "agent" || p.Role != "reader" || p.TokenSHA256 != kit.TokenHash(tok) || strings.Join(p.Datasets, ",") != "candidates,jobs_*" {
		t.Fatalf("entry %+v", p)
	}
	out.Reset()
	if code := Main([]string{"token", "hash", tok}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != p.TokenSHA256 {
		t.Fatalf("token hash: %d %q", code, out.String())
	}
	if code := Main([]string{"token", "create", "--name", "agent", "--role", "boss"}, &out, &errb); code != 2 {
		t.Fatalf("bad role: exit %d", code)
	}
}

// TestPrincipalConfigIsValidated: a principal needs a known role, a
// token source that is not plaintext, a valid hash and a unique name.
func TestPrincipalConfigIsValidated(t *testing.T) {
	h := kit.TokenHash("x")
	for _, c := range []struct {
		p    config.PrincipalConfig
		want string
	}{
		{config.PrincipalConfig{Name: "a", Role: "root", TokenSHA256: h}, "role"},
		{config.PrincipalConfig{Name: "a", Role: "reader"}, "token_sha256 or token_env"},
		{config.PrincipalConfig{Name: "a", Role: "reader", TokenSHA256: "abc"}, "hex SHA-256"},
		{config.PrincipalConfig{Name: "a b", Role: "reader", TokenSHA256: h}, "name"},
		{config.PrincipalConfig{Name: "a", Role: "reader", TokenSHA256: h, Datasets: []string{"[x"}}, "glob"},
	} {
		a := config.AuthConfig{Principals: []config.PrincipalConfig{c.p}}
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.p, err, c.want)
		}
	}
	dup := config.AuthConfig{Principals: []config.PrincipalConfig{{Name: "a", Role: "reader", TokenSHA256: h}, {Name: "a", Role: "admin", TokenEnv: "X"}}}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate names: %v", err)
	}
}
