package kit

// Prefixed is implemented by modules whose routes live under a prefix
// other than their name (query serves /v1/sql, vector /v1/vectors). The
// server gives each module a group at /v1/<prefix>, so a module's routes
// can only be under its own prefix.
type Prefixed interface{ RoutePrefix() string }

// Guest is implemented by a module whose routes live inside another
// module's prefix, at a path its clients already know: workflow serves
// /v1/observer/workflow/..., indexer /v1/vectors/index/<name>/from-dataset.
// Its RoutePrefix is the whole path ("observer/workflow"); HostModule
// names the module that owns the enclosing prefix. Without it, a module
// whose prefix is, or is inside, another module's stops the server: no
// module can wander into another's paths by accident.
type Guest interface {
	Prefixed
	HostModule() string
}

// Configured is implemented by modules that read a section of the
// configuration; it names the section's TOML key ("storage", "query").
// The registry test checks that every section a module names exists, has
// defaults and a Validate, and is in the generated reference.
type Configured interface{ ConfigSection() string }

// PrefixOf is the module's route prefix: RoutePrefix when it has one, else
// its name.
func PrefixOf(m Module) string {
	if p, ok := m.(Prefixed); ok {
		return p.RoutePrefix()
	}
	return m.Name()
}

// ContextModule is the echo context key holding the name of the module
// whose route serves the request; audit and metrics read it.
const ContextModule = "lakehouse.module"

// RouteInfo is one mounted route and the module that owns it.
type RouteInfo struct {
	Module string `json:"module"`
	Method string `json:"method"`
	Path   string `json:"path"`
}

// RouteDoc describes one route for GET /openapi.json. Request and
// Response are values of the Go types the route reads and answers (nil:
// no JSON body); the schemas are reflected from them, never written by
// hand.
type RouteDoc struct {
	Summary  string
	Request  any
	Response any
	// Status is the success status (default 200).
	Status int
}

// Documented is implemented by modules that describe their routes. Keys
// are "METHOD path" as the module registers them, relative to its prefix
// ("POST /register", "GET /index/:name"). A key for a route the module
// does not serve stops the server from starting.
type Documented interface{ RouteDocs() map[string]RouteDoc }

// ContextPrincipal is the echo context key holding the name of the
// principal a request acts for ("anonymous" when auth is off); the
// principal itself is in the request's context (PrincipalOf).
const ContextPrincipal = "lakehouse.principal"

// ContextClientIP is the echo context key holding the client address the
// gate decided on (X-Forwarded-For only through a trusted proxy).
const ContextClientIP = "lakehouse.client_ip"
