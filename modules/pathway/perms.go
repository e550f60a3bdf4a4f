package pathway

import "lakehouse/modules/kit"

// RoutePerms declares who may call each pathway route (kit.Permissioned):
// memory writes are an analyst's, compaction an admin's.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST /add":            kit.Need(kit.RoleAnalyst),
		"POST /add_idempotent": kit.Need(kit.RoleAnalyst),
		"POST /update":         kit.Need(kit.RoleAnalyst),
		"POST /revise":         kit.Need(kit.RoleAnalyst),
		"POST /retire":         kit.Need(kit.RoleAnalyst),
		"POST /search":         kit.Need(kit.RoleReader),
		"GET /get/*":           kit.Need(kit.RoleReader),
		"GET /history/*":       kit.Need(kit.RoleReader),
		"GET /stats":           kit.Need(kit.RoleReader),
		"POST /compact":        kit.Need(kit.RoleAdmin),
	}
}
