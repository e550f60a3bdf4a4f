package query

import "lakehouse/modules/kit"

// RoutePerms declares who may call each SQL route (kit.Permissioned).
// Statements see only the caller's granted datasets (grants.go).
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST ":              kit.Need(kit.RoleReader),
		"GET /tables":        kit.Need(kit.RoleReader),
		"GET /cache":         kit.Need(kit.RoleReader),
		"GET /changes/:name": kit.NeedOn(kit.RoleReader, "name"),
	}
}
