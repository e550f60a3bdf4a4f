package observer

import "lakehouse/app"

// RoutePerms declares who may call each observer route (app.Permissioned).
// Reporting one event is open to every role: it is how an agent's MCP
// server audits each tool call (the event records who posted it, which
// the caller cannot choose), and a reader's calls must be audited too.
// Batches (inbox) and flushes are an analyst's. Reading events is a read,
// filtered by the caller's dataset grants.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"GET /health": app.Need(app.RoleReader),
		"GET /stats":  app.Need(app.RoleReader),
		"GET /events": app.Need(app.RoleReader),
		"POST /event": app.Need(app.RoleReader),
		"POST /inbox": app.Need(app.RoleAnalyst),
		"POST /flush": app.Need(app.RoleAnalyst),
	}
}
