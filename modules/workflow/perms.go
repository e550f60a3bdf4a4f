package workflow

import "lakehouse/modules/kit"

// RoutePerms declares who may call each workflow route (kit.Permissioned).
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST /run": kit.Need(kit.RoleAnalyst),
		"GET ":      kit.Need(kit.RoleReader),
		"GET /:id":  kit.Need(kit.RoleReader),
	}
}
