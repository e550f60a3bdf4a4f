package catalog

import "lakehouse/app"

// RoutePerms declares who may call each catalog route (app.Permissioned).
// Register is an admin's: it names arbitrary objects as a dataset's
// files, which could point at another dataset's parts (ingest registers
// its own parts in-process). The list filters by the caller's grants.
func (m *Module) RoutePerms() map[string]app.Perm {
	return map[string]app.Perm{
		"POST /register":              app.Need(app.RoleAdmin),
		"GET /list":                   app.Need(app.RoleReader),
		"GET /manifest/:name":         app.NeedOn(app.RoleReader, "name"),
		"GET /versions/:name":         app.NeedOn(app.RoleReader, "name"),
		"DELETE /datasets/:name":      app.NeedOn(app.RoleAdmin, "name"),
		"GET /datasets/:name/changes": app.NeedOn(app.RoleReader, "name"),
		"GET /maintenance":            app.Need(app.RoleAdmin),
		"POST /maintenance":           app.Need(app.RoleAdmin),
		"GET /retention/:name":        app.NeedOn(app.RoleReader, "name"),
		"PUT /retention/:name":        app.NeedOn(app.RoleAdmin, "name"),
		"GET /tags/:name":             app.NeedOn(app.RoleReader, "name"),
		"PUT /tags/:name/:tag":        app.NeedOn(app.RoleWriter, "name"),
		"DELETE /tags/:name/:tag":     app.NeedOn(app.RoleWriter, "name"),
		"GET /keys":                   app.Need(app.RoleReader),
		"GET /keys/:name":             app.NeedOn(app.RoleReader, "name"),
		"PUT /keys/:name":             app.NeedOn(app.RoleWriter, "name"),
	}
}

// RootRoutePerms declares the Iceberg REST routes: all reads (the catalog
// is read-only, its write endpoints answer an error for everyone); a
// table route checks the grant of the dataset it names, and the table
// list filters by the caller's grants.
func (m *Module) RootRoutePerms() map[string]app.Perm {
	if m.store.Iceberg() == nil {
		return nil
	}
	return map[string]app.Perm{
		"* /iceberg/v1/config":                               app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces":                           app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces/:ns":                       app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces/:ns/properties":            app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces/:ns/tables":                app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces/:ns/register":              app.Need(app.RoleReader),
		"* /iceberg/v1/namespaces/:ns/tables/:table":         app.NeedOn(app.RoleReader, "table"),
		"* /iceberg/v1/namespaces/:ns/tables/:table/metrics": app.NeedOn(app.RoleReader, "table"),
		"* /iceberg/v1/tables/rename":                        app.Need(app.RoleReader),
		"* /iceberg/v1/transactions/commit":                  app.Need(app.RoleReader),
		"* /iceberg/v1/oauth/tokens":                         app.Need(app.RoleReader),
		"* /iceberg/*":                                       app.Need(app.RoleReader),
	}
}
