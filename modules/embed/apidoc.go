package embed

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST ":      {Summary: "embed texts", Request: EmbedRequest{}, Response: EmbedResponse{}},
		"GET /stats": {Summary: "embedding cache counters", Response: StatsResponse{}},
	}
}
