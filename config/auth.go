package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
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
}

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
	return errors.Join(errs...)
}

// ResolveToken fills Token from the environment when the config left it
// empty; an explicit token in the config wins over the environment.
func (a *AuthConfig) ResolveToken(getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if a.Token != "" {
		return
	}
	name := a.TokenEnv
	if name == "" {
		name = "AUTH_TOKEN"
	}
	a.Token = strings.TrimSpace(getenv(name))
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
