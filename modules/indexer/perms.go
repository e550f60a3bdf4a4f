package indexer

import "lakehouse/modules/kit"

// RoutePerms declares who may index a dataset (kit.Permissioned):
// writers; the dataset in the body must be granted (checked by the
// handler).
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{"POST /index/:name/from-dataset": kit.Need(kit.RoleWriter)}
}
