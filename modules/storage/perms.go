package storage

import "lakehouse/modules/kit"

// RoutePerms declares who may call each storage route (kit.Permissioned):
// admins only. Raw objects are every dataset's parts and every module's
// state, so reading them would step around dataset grants and writing
// them around every module's checks.
func (m *Module) RoutePerms() map[string]kit.Perm {
	perms := map[string]kit.Perm{}
	for _, k := range []string{"PUT /put/*", "PUT /objects/*", "GET /get/*", "GET /objects/*", "HEAD /objects/*",
		"DELETE /delete/*", "DELETE /objects/*", "GET /list"} {
		perms[k] = kit.Need(kit.RoleAdmin)
	}
	return perms
}
