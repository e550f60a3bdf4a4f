package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
)

// AuthConfig is the one auth gate in front of every module route.
type AuthConfig struct {
	// Token is the primary bearer token. When empty it is read from the
	// environment variable named by TokenEnv. Empty after that = no auth
	// (development mode, allowed on loopback only).
	Token string `toml:"token"`
	// TokenEnv names the environment variable holding the token.
	TokenEnv string `toml:"token_env"`
	// SecondaryTokens are also accepted, for rotation windows.
	SecondaryTokens []string `toml:"secondary_tokens"`
	// AllowedIPs is a CIDR list; when set, other clients get 403.
	AllowedIPs []string `toml:"allowed_ips"`
	// TrustedProxies is a CIDR list of peers whose X-Forwarded-For is used
	// to find the client address; other peers' X-Forwarded-For is ignored.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Principals are the named callers beside the admin token: each has a
	// role, optional dataset grants and a token known only by its hash or
	// by the environment variable holding it (never in plaintext here).
	Principals []PrincipalConfig `toml:"principals"`
}

// PrincipalConfig is one [[auth.principals]] entry.
type PrincipalConfig struct {
	// Name identifies the caller in audit rows, sessions and errors.
	Name string `toml:"name"`
	// Role is reader, analyst, writer or admin (each includes the ones before).
	Role string `toml:"role"`
	// Datasets are the datasets the principal may see: names or globs
	// ("crm_*"). Empty = every dataset.
	Datasets []string `toml:"datasets"`
	// TokenEnv names an environment variable holding the token.
	TokenEnv string `toml:"token_env"`
	// TokenSHA256 is the hex SHA-256 of the token (what `lakehouse token
	// create` prints).
	TokenSHA256 string `toml:"token_sha256"`
	// SecondarySHA256 are hashes of further tokens accepted for this
	// principal, for rotation windows.
	SecondarySHA256 []string `toml:"secondary_sha256"`
	// Token is the token read from TokenEnv at load time (never from the file).
	Token string `toml:"-"`
}

// Roles are the principal roles, weakest first.
var Roles = []string{"reader", "analyst", "writer", "admin"}

func defaultAuth() AuthConfig { return AuthConfig{TokenEnv: "AUTH_TOKEN"} }

// Validate checks the CIDR lists.
func (a *AuthConfig) Validate() error {
	var errs []error
	if _, err := ParsePrefixes(a.AllowedIPs); err != nil {
		errs = append(errs, fmt.Errorf("allowed_ips: %w", err))
	}
	if _, err := ParsePrefixes(a.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("trusted_proxies: %w", err))
	}
	seen := map[string]bool{}
	for i, p := range a.Principals {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("principals[%d]: %w", i, err))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("principals[%d]: name %q is used twice", i, p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

func (p *PrincipalConfig) validate() error {
	var errs []error
	if !validPrincipalName(p.Name) {
		errs = append(errs, fmt.Errorf("name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", p.Name))
	}
	if !slices.Contains(Roles, p.Role) {
		errs = append(errs, fmt.Errorf("role %q: one of %s", p.Role, strings.Join(Roles, ", ")))
	}
	if p.TokenSHA256 == "" && p.TokenEnv == "" {
		errs = append(errs, errors.New("needs token_sha256 or token_env (a token is never written in the file)"))
	}
	for _, h := range append([]string{p.TokenSHA256}, p.SecondarySHA256...) {
		if h == "" {
			continue
		}
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("%q is not a hex SHA-256 (64 hex digits)", truncateText(h, 16)))
		}
	}
	for _, d := range p.Datasets {
		if _, err := path.Match(d, ""); err != nil || d == "" {
			errs = append(errs, fmt.Errorf("datasets: %q is not a name or glob", d))
		}
	}
	return errors.Join(errs...)
}

func validPrincipalName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ResolveToken fills Token from the environment when the config left it
// empty (an explicit token in the config wins over the environment), and
// each principal's Token from its token_env.
func (a *AuthConfig) ResolveToken(getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if a.Token == "" {
		name := a.TokenEnv
		if name == "" {
			name = "AUTH_TOKEN"
		}
		a.Token = strings.TrimSpace(getenv(name))
	}
	for i := range a.Principals {
		if p := &a.Principals[i]; p.TokenEnv != "" {
			p.Token = strings.TrimSpace(getenv(p.TokenEnv))
		}
	}
}

// Enabled reports whether any token (primary or secondary) is configured.
func (a *AuthConfig) Enabled() bool {
	if a.Token != "" {
		return true
	}
	for _, t := range a.SecondaryTokens {
		if t != "" {
			return true
		}
	}
	for _, p := range a.Principals {
		if p.Token != "" || p.TokenSHA256 != "" || len(p.SecondarySHA256) > 0 {
			return true
		}
	}
	return false
}

// ParsePrefixes parses CIDRs ("10.0.0.0/8", "::1/128") or bare addresses
// (taken as a single host).
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			addr, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
