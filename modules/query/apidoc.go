package query

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST ":              {Summary: "run one read-only SQL statement", Request: sqlRequest{}, Response: Result{}},
		"GET /changes/:name": {Summary: "the change feed after version from up to to (?from=N&to=M&format=json|ndjson|csv|arrow): rows with _change and _version", Response: Result{}},
	}
}
