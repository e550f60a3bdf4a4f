package vector

import "lakehouse/modules/kit"

// RoutePerms declares who may call each vector route (kit.Permissioned).
// An index built from a dataset is visible only to callers granted that
// dataset (checked by the handlers, which know the index's source).
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST /index":                   kit.Need(kit.RoleWriter),
		"GET /index":                    kit.Need(kit.RoleReader),
		"GET /index/:name":              kit.Need(kit.RoleReader),
		"DELETE /index/:name":           kit.Need(kit.RoleWriter),
		"POST /index/:name/add":         kit.Need(kit.RoleWriter),
		"POST /index/:name/search":      kit.Need(kit.RoleReader),
		"DELETE /index/:name/items/:id": kit.Need(kit.RoleWriter),
	}
}
