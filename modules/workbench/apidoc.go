package workbench

import "lakehouse/app"

// QueryList is GET /v1/workbench/queries.
type QueryList struct {
	Queries []SavedQuery `json:"queries"`
	Count   int          `json:"count"`
}

// SavedAnswer is PUT /v1/workbench/queries/<id>: the stored query, and
// whether the request changed it (false when it already said the same).
type SavedAnswer struct {
	SavedQuery
	Changed bool `json:"changed"`
}

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"GET /queries":        {Summary: "the saved queries", Response: QueryList{}},
		"GET /queries/:id":    {Summary: "one saved query", Response: SavedQuery{}},
		"PUT /queries/:id":    {Summary: "create (201) or replace (200) a saved query", Request: SavedQuery{}, Response: SavedAnswer{}},
		"DELETE /queries/:id": {Summary: "delete a saved query", Status: 204},
		"GET /export":         {Summary: "a read-only query's whole answer as a download (?sql, ?params as a JSON array, ?format=csv|json|parquet, ?filename), streamed"},
	}
}
