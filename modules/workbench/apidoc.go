package workbench

import "lakehouse/modules/kit"

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

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"GET /queries":              {Summary: "the saved queries", Response: QueryList{}},
		"GET /queries/:id":          {Summary: "one saved query", Response: SavedQuery{}},
		"PUT /queries/:id":          {Summary: "create (201) or replace (200) a saved query, as its next version; it must plan (EXPLAIN through POST /v1/sql); base_version guards against overwriting another's save (409)", Request: putBody{}, Response: SavedAnswer{}},
		"DELETE /queries/:id":       {Summary: "delete a saved query (its versions stay, restorable)", Status: 204},
		"GET /queries/:id/versions": {Summary: "every version of a saved query, newest first (also of a deleted one)", Response: History{}},
		"POST /queries/:id/restore": {Summary: "make an earlier version the next one (recreates a deleted query: 201)", Request: restoreBody{}, Response: SavedAnswer{}},
		"GET /queries/:id/run":      {Summary: "run a saved query through POST /v1/sql (?format=json|csv, ?limit=N, ?<param>=value; a parameter left out takes its default)"},
		"GET /export":               {Summary: "a read-only query's whole answer as a download (?sql, ?params as a JSON array, ?format=csv|json|parquet, ?filename), streamed"},
	}
}
