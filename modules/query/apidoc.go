package query

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST ":              {Summary: "run one read-only SQL statement", Request: sqlRequest{}, Response: Result{}},
		"GET /changes/:name": {Summary: "the change feed after version from up to to (?from=N&to=M&format=json|ndjson|csv|arrow): rows with _change and _version", Response: Result{}},
	}
}
