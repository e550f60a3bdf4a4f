package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"lakehouse/config"
)

// Role orders what a principal may do; each role includes the ones
// before it.
type Role int

// The roles, weakest first. RoleNone is above every role: a real route
// that declared no permission is given it, and nobody has it, so such a
// route is refused to everyone (fail closed). The zero Role is no role;
// a declaration carrying it stops the server from starting (perm.go).
const (
	RoleReader Role = iota + 1
	RoleAnalyst
	RoleWriter
	RoleAdmin
	RoleNone Role = 1 << 10
)

// String is the role's config name.
func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleAnalyst:
		return "analyst"
	case RoleWriter:
		return "writer"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a config role name.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleReader, RoleAnalyst, RoleWriter, RoleAdmin} {
		if r.String() == s {
			return r, nil
		}
	}
	return RoleNone, fmt.Errorf("unknown role %q (reader, analyst, writer, admin)", s)
}

// Principal is who a request acts for: a name (audit rows, sessions), a
// role, and the datasets it may see.
type Principal struct {
	Name string
	Role Role
	// Datasets are names or globs; nil means every dataset.
	Datasets []string
}

// AdminName is the principal the single auth.token (and its secondary
// tokens) authenticates as.
const AdminName = "admin"

// Anonymous is the principal of every request when auth is off
// (development mode on loopback): it may do everything.
var Anonymous = &Principal{Name: "anonymous", Role: RoleAdmin}

// Can reports whether p's role includes need.
func (p *Principal) Can(need Role) bool { return p != nil && p.Role >= need }

// AllDatasets reports whether p sees every dataset (no grant list).
func (p *Principal) AllDatasets() bool { return p != nil && p.Datasets == nil }

// Sees reports whether p may see the dataset name. Internal datasets
// (the observer's own, vector bookkeeping) follow the same grants.
func (p *Principal) Sees(name string) bool {
	if p == nil {
		return false
	}
	if p.Datasets == nil {
		return true
	}
	for _, g := range p.Datasets {
		if ok, _ := path.Match(g, name); ok || g == name {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The gate puts the request's
// principal in its context, so modules can apply grants without knowing
// about HTTP.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf is the principal ctx carries; without one (a module's own
// background work, a unit test) it is nil, which modules treat as the
// process itself: no grant filtering.
func PrincipalOf(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// SeesDataset reports whether the principal in ctx may see name; work
// without a principal (the process itself) sees everything.
func SeesDataset(ctx context.Context, name string) bool {
	p := PrincipalOf(ctx)
	return p == nil || p.Sees(name)
}

// credential is one accepted token, known only by its SHA-256.
type credential struct {
	hash      [sha256.Size]byte
	principal *Principal
	secondary bool
}

// credentials is every accepted token of the gate.
type credentials struct {
	list   []credential
	byName map[string]*Principal
}

// newCredentials builds the gate's credential list: auth.token and
// auth.secondary_tokens as the admin principal, then each
// [[auth.principals]] entry's token (from its env var) and hashes.
func newCredentials(a config.AuthConfig) (*credentials, error) {
	cs := &credentials{byName: map[string]*Principal{}}
	if a.Token != "" || len(a.SecondaryTokens) > 0 {
		admin := &Principal{Name: AdminName, Role: RoleAdmin}
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
		role, err := ParseRole(pc.Role)
		if err != nil {
			return nil, fmt.Errorf("auth: principal %q: %w", pc.Name, err)
		}
		if _, dup := cs.byName[pc.Name]; dup {
			return nil, fmt.Errorf("auth: principal %q is defined twice (%q is also the name of auth.token's principal)", pc.Name, AdminName)
		}
		p := &Principal{Name: pc.Name, Role: role}
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
func (cs *credentials) match(tok string) (*Principal, bool) {
	if tok == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	var found *Principal
	for i := range cs.list {
		if subtle.ConstantTimeCompare(h[:], cs.list[i].hash[:]) == 1 && found == nil {
			found = cs.list[i].principal
		}
	}
	return found, found != nil
}

// principal returns the configured principal called name.
func (cs *credentials) principal(name string) (*Principal, bool) {
	p, ok := cs.byName[name]
	return p, ok
}

// TokenHash is the hex SHA-256 of a token, as token_sha256 holds it.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
