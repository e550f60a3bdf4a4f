package embed

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST ":      {Summary: "embed texts", Request: EmbedRequest{}, Response: EmbedResponse{}},
		"GET /stats": {Summary: "embedding cache counters", Response: StatsResponse{}},
	}
}
