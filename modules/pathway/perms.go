package pathway

import "lakehouse/app"

// RoutePerms declares who may call each pathway route (app.Permissioned):
// memory writes are an analyst's, compaction an admin's.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST /add":            app.Need(app.RoleAnalyst),
		"POST /add_idempotent": app.Need(app.RoleAnalyst),
		"POST /update":         app.Need(app.RoleAnalyst),
		"POST /revise":         app.Need(app.RoleAnalyst),
		"POST /retire":         app.Need(app.RoleAnalyst),
		"POST /search":         app.Need(app.RoleReader),
		"GET /get/*":           app.Need(app.RoleReader),
		"GET /history/*":       app.Need(app.RoleReader),
		"GET /stats":           app.Need(app.RoleReader),
		"POST /compact":        app.Need(app.RoleAdmin),
	}
}
