package observer

import "lakehouse/modules/kit"

// RoutePerms declares who may call each observer route (kit.Permissioned).
// Reporting one event is open to every role: it is how an agent's MCP
// server audits each tool call (the event records who posted it, which
// the caller cannot choose), and a reader's calls must be audited too.
// Batches (inbox) and flushes are an analyst's. Reading events is a read,
// filtered by the caller's dataset grants.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"GET /health": kit.Need(kit.RoleReader),
		"GET /stats":  kit.Need(kit.RoleReader),
		"GET /events": kit.Need(kit.RoleReader),
		"POST /event": kit.Need(kit.RoleReader),
		"POST /inbox": kit.Need(kit.RoleAnalyst),
		"POST /flush": kit.Need(kit.RoleAnalyst),
	}
}
