package workbench

import "lakehouse/modules/kit"

// RoutePerms declares who may call each workbench route
// (kit.Permissioned): saving queries is an analyst's; exports run
// through POST /v1/sql, so the caller's grants hold there.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"GET /queries":        kit.Need(kit.RoleReader),
		"GET /queries/:id":    kit.Need(kit.RoleReader),
		"PUT /queries/:id":    kit.Need(kit.RoleAnalyst),
		"DELETE /queries/:id": kit.Need(kit.RoleAnalyst),
		// Running goes through POST /v1/sql, where the caller's grants hold.
		"GET /queries/:id/run":      kit.Need(kit.RoleReader),
		"GET /queries/:id/versions": kit.Need(kit.RoleReader),
		"POST /queries/:id/restore": kit.Need(kit.RoleAnalyst),
		"GET /export":               kit.Need(kit.RoleReader),
	}
}
