package kit

// Perm is what one route needs: a role and, when the route is about one
// dataset, the path or query parameter naming it, whose grant the gate
// checks before the handler runs. Routes whose dataset arrives in the
// body or that list datasets apply the grants themselves (SeesDataset).
type Perm struct {
	Role Role
	// Dataset is the path parameter (":name") or, failing that, the query
	// parameter holding the dataset the route reads or writes.
	Dataset string
}

// Need is a permission of role alone.
func Need(r Role) Perm { return Perm{Role: r} }

// NeedOn is a permission of role on the dataset named by param.
func NeedOn(r Role, param string) Perm { return Perm{Role: r, Dataset: param} }

// Permissioned is implemented by every module that serves routes: the
// permission each route needs, keyed like RouteDocs ("METHOD /rel/path",
// relative to the module's prefix; "*" as the method covers every
// method). A route without one stops the server from starting, so no
// route is ever served without a decision about who may call it.
type Permissioned interface{ RoutePerms() map[string]Perm }

// RootPermissioned is the same for a RootRouter's routes, keyed by their
// absolute paths ("GET /iceberg/v1/config").
type RootPermissioned interface{ RootRoutePerms() map[string]Perm }

// RoutePerm is one row of the permission table (for docs and tests).
type RoutePerm struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Module  string `json:"module"`
	Role    string `json:"role"`
	Dataset string `json:"dataset,omitempty"`
}
