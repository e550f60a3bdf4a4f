package vector

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST /index":              {Summary: "create an index", Request: createRequest{}, Response: IndexInfo{}, Status: 201},
		"GET /index/:name":         {Summary: "an index's info", Response: IndexInfo{}},
		"POST /index/:name/add":    {Summary: "add or upsert items", Request: addRequest{}},
		"POST /index/:name/search": {Summary: "search: nearest neighbours (mode vector), BM25 (keyword) or both fused (hybrid); facets", Request: SearchRequest{}, Response: SearchResponse{}},
	}
}
