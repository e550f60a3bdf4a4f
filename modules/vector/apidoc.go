package vector

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST /index":              {Summary: "create an index", Request: createRequest{}, Response: IndexInfo{}, Status: 201},
		"GET /index/:name":         {Summary: "an index's info", Response: IndexInfo{}},
		"POST /index/:name/add":    {Summary: "add or upsert items", Request: addRequest{}},
		"POST /index/:name/search": {Summary: "search: nearest neighbours (mode vector), BM25 (keyword) or both fused (hybrid); facets", Request: SearchRequest{}, Response: SearchResponse{}},
	}
}
