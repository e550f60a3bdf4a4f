package ingest

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json (the body is
// the file, not JSON).
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST ": {Summary: "ingest a CSV, TSV, JSON, Parquet or xlsx file into a dataset", Response: IngestResponse{}, Status: 201},
	}
}
