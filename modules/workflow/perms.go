package workflow

import "lakehouse/app"

// RoutePerms declares who may call each workflow route (app.Permissioned).
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST /run": app.Need(app.RoleAnalyst),
		"GET ":      app.Need(app.RoleReader),
		"GET /:id":  app.Need(app.RoleReader),
	}
}
