package indexer

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST /index/:name/from-dataset": {Summary: "index a dataset's text into a vector index",
			Request: FromDatasetRequest{}, Response: FromDatasetSummary{}},
	}
}
