package indexer

import "lakehouse/app"

// RoutePerms declares who may index a dataset (app.Permissioned):
// writers; the dataset in the body must be granted (checked by the
// handler).
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{"POST /index/:name/from-dataset": app.Need(app.RoleWriter)}
}
