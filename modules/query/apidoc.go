package query

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST ": {Summary: "run one read-only SQL statement", Request: sqlRequest{}, Response: Result{}},
	}
}
