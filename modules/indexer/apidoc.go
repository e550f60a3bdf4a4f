package indexer

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST /index/:name/from-dataset": {Summary: "index a dataset's text into a vector index",
			Request: FromDatasetRequest{}, Response: FromDatasetSummary{}},
	}
}
