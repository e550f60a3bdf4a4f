package kit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
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

// TokenHash is the hex SHA-256 of a token, as token_sha256 holds it.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
