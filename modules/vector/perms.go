package vector

import "lakehouse/app"

// RoutePerms declares who may call each vector route (app.Permissioned).
// An index built from a dataset is visible only to callers granted that
// dataset (checked by the handlers, which know the index's source).
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST /index":                   app.Need(app.RoleWriter),
		"GET /index":                    app.Need(app.RoleReader),
		"GET /index/:name":              app.Need(app.RoleReader),
		"DELETE /index/:name":           app.Need(app.RoleWriter),
		"POST /index/:name/add":         app.Need(app.RoleWriter),
		"POST /index/:name/search":      app.Need(app.RoleReader),
		"DELETE /index/:name/items/:id": app.Need(app.RoleWriter),
	}
}
