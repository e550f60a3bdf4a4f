package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"lakehouse/config"
	"lakehouse/modules/kit"
	"strings"
)

// credential is one accepted token, known only by its SHA-256.
type credential struct {
	hash      [sha256.Size]byte
	principal *kit.Principal
	secondary bool
}

// credentials is every accepted token of the gate.
type credentials struct {
	list   []credential
	byName map[string]*kit.Principal
}

// newCredentials builds the gate's credential list: auth.token and
// auth.secondary_tokens as the admin principal, then each
// [[auth.principals]] entry's token (from its env var) and hashes.
func newCredentials(a config.AuthConfig) (*credentials, error) {
	cs := &credentials{byName: map[string]*kit.Principal{}}
	if a.Token != "" || len(a.SecondaryTokens) > 0 {
		admin := &kit.Principal{Name: kit.AdminName, Role: kit.RoleAdmin}
		cs.byName[admin.Name] = admin
		if a.Token != "" {
			cs.list = append(cs.list, credential{hash: sha256.Sum256([]byte(a.Token)), principal: admin})
		}
		for _, t := range a.SecondaryTokens {
			if t != "" {
				cs.list = append(cs.list, credential{hash: sha256.Sum256([]byte(t)), principal: admin, secondary: true})
			}
		}
	}
	for _, pc := range a.Principals {
		role, err := kit.ParseRole(pc.Role)
		if err != nil {
			return nil, fmt.Errorf("auth: principal %q: %w", pc.Name, err)
		}
		if _, dup := cs.byName[pc.Name]; dup {
			return nil, fmt.Errorf("auth: principal %q is defined twice (%q is also the name of auth.token's principal)", pc.Name, kit.AdminName)
		}
		p := &kit.Principal{Name: pc.Name, Role: role}
		if len(pc.Datasets) > 0 {
			p.Datasets = append([]string{}, pc.Datasets...)
		}
		cs.byName[p.Name] = p
		if pc.Token != "" {
			cs.list = append(cs.list, credential{hash: sha256.Sum256([]byte(pc.Token)), principal: p})
		}
		for i, h := range append([]string{pc.TokenSHA256}, pc.SecondarySHA256...) {
			if h == "" {
				continue
			}
			b, err := hex.DecodeString(strings.TrimSpace(h))
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("auth: principal %q: a token hash is not 64 hex digits", pc.Name)
			}
			c := credential{principal: p, secondary: i > 0}
			copy(c.hash[:], b)
			cs.list = append(cs.list, c)
		}
	}
	return cs, nil
}

// match finds the principal whose token is tok. Every credential is
// compared, in constant time, whatever matched before, so the time taken
// does not say which entry came close; comparing hashes also makes it
// independent of the token's length.
func (cs *credentials) match(tok string) (*kit.Principal, bool) {
	if tok == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	var found *kit.Principal
	for i := range cs.list {
		if subtle.ConstantTimeCompare(h[:], cs.list[i].hash[:]) == 1 && found == nil {
			found = cs.list[i].principal
		}
	}
	return found, found != nil
}

// principal returns the configured principal called name.
func (cs *credentials) principal(name string) (*kit.Principal, bool) {
	p, ok := cs.byName[name]
	return p, ok
}
