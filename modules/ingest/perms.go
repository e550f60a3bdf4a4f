package ingest

import "lakehouse/app"

// RoutePerms declares who may ingest (app.Permissioned): writers, into
// the datasets granted to them (?name=).
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{"POST ": app.NeedOn(app.RoleWriter, "name")}
}
