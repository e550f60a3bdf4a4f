package ingest

import "lakehouse/modules/kit"

// RoutePerms declares who may ingest (kit.Permissioned): writers, into
// the datasets granted to them (?name=).
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{"POST ": kit.NeedOn(kit.RoleWriter, "name")}
}
