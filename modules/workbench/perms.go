package workbench

import "lakehouse/app"

// RoutePerms declares who may call each workbench route
// (app.Permissioned): saving queries is an analyst's; exports run
// through POST /v1/sql, so the caller's grants hold there.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"GET /queries":        app.Need(app.RoleReader),
		"GET /queries/:id":    app.Need(app.RoleReader),
		"PUT /queries/:id":    app.Need(app.RoleAnalyst),
		"DELETE /queries/:id": app.Need(app.RoleAnalyst),
		// Running goes through POST /v1/sql, where the caller's grants hold.
		"GET /queries/:id/run":      app.Need(app.RoleReader),
		"GET /queries/:id/versions": app.Need(app.RoleReader),
		"POST /queries/:id/restore": app.Need(app.RoleAnalyst),
		"GET /export":               app.Need(app.RoleReader),
	}
}
