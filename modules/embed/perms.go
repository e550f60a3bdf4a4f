package embed

import "lakehouse/modules/kit"

// RoutePerms declares who may embed (kit.Permissioned): embedding reads
// no stored data, so every role may.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST ":      kit.Need(kit.RoleReader),
		"GET /stats": kit.Need(kit.RoleReader),
	}
}
