package observer

import "lakehouse/app"

// RoutePerms declares who may call each observer route (app.Permissioned).
// Posting events is an analyst's (an agent's) write; reading them is a
// read, filtered by the caller's dataset grants.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"GET /health": app.Need(app.RoleReader),
		"GET /stats":  app.Need(app.RoleReader),
		"GET /events": app.Need(app.RoleReader),
		"POST /event": app.Need(app.RoleAnalyst),
		"POST /inbox": app.Need(app.RoleAnalyst),
		"POST /flush": app.Need(app.RoleAnalyst),
	}
}
