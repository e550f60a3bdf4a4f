package query

import "lakehouse/app"

// RoutePerms declares who may call each SQL route (app.Permissioned).
// Statements see only the caller's granted datasets (grants.go).
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST ":              app.Need(app.RoleReader),
		"GET /tables":        app.Need(app.RoleReader),
		"GET /cache":         app.Need(app.RoleReader),
		"GET /changes/:name": app.NeedOn(app.RoleReader, "name"),
	}
}
