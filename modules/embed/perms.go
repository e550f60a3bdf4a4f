package embed

import "lakehouse/app"

// RoutePerms declares who may embed (app.Permissioned): embedding reads
// no stored data, so every role may.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST ":      app.Need(app.RoleReader),
		"GET /stats": app.Need(app.RoleReader),
	}
}
