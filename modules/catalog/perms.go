package catalog

import "lakehouse/modules/kit"

// RoutePerms declares who may call each catalog route (kit.Permissioned).
// Register is an admin's: it names arbitrary objects as a dataset's
// files, which could point at another dataset's parts (ingest registers
// its own parts in-process). The list filters by the caller's grants.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST /register":              kit.Need(kit.RoleAdmin),
		"GET /list":                   kit.Need(kit.RoleReader),
		"GET /manifest/:name":         kit.NeedOn(kit.RoleReader, "name"),
		"GET /versions/:name":         kit.NeedOn(kit.RoleReader, "name"),
		"DELETE /datasets/:name":      kit.NeedOn(kit.RoleAdmin, "name"),
		"GET /datasets/:name/changes": kit.NeedOn(kit.RoleReader, "name"),
		"GET /maintenance":            kit.Need(kit.RoleAdmin),
		"POST /maintenance":           kit.Need(kit.RoleAdmin),
		"GET /retention/:name":        kit.NeedOn(kit.RoleReader, "name"),
		"PUT /retention/:name":        kit.NeedOn(kit.RoleAdmin, "name"),
		"GET /tags/:name":             kit.NeedOn(kit.RoleReader, "name"),
		"PUT /tags/:name/:tag":        kit.NeedOn(kit.RoleWriter, "name"),
		"DELETE /tags/:name/:tag":     kit.NeedOn(kit.RoleWriter, "name"),
		"GET /keys":                   kit.Need(kit.RoleReader),
		"GET /keys/:name":             kit.NeedOn(kit.RoleReader, "name"),
		"PUT /keys/:name":             kit.NeedOn(kit.RoleWriter, "name"),
	}
}

// RootRoutePerms declares the Iceberg REST routes: all reads (the catalog
// is read-only, its write endpoints answer an error for everyone); a
// table route checks the grant of the dataset it names, and the table
// list filters by the caller's grants.
func (m *Module) RootRoutePerms() map[string]kit.Perm {
	if m.store.Iceberg() == nil {
		return nil
	}
	return map[string]kit.Perm{
		"* /iceberg/v1/config":                               kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces":                           kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces/:ns":                       kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces/:ns/properties":            kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces/:ns/tables":                kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces/:ns/register":              kit.Need(kit.RoleReader),
		"* /iceberg/v1/namespaces/:ns/tables/:table":         kit.NeedOn(kit.RoleReader, "table"),
		"* /iceberg/v1/namespaces/:ns/tables/:table/metrics": kit.NeedOn(kit.RoleReader, "table"),
		"* /iceberg/v1/tables/rename":                        kit.Need(kit.RoleReader),
		"* /iceberg/v1/transactions/commit":                  kit.Need(kit.RoleReader),
		"* /iceberg/v1/oauth/tokens":                         kit.Need(kit.RoleReader),
		"* /iceberg/*":                                       kit.Need(kit.RoleReader),
	}
}
