package ingest

import "lakehouse/app"

// RouteDocs implements app.Documented for GET /openapi.json (the body is
// the file, not JSON).
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST ": {Summary: "ingest a CSV, TSV, JSON, Parquet or xlsx file into a dataset", Response: IngestResponse{}, Status: 201},
	}
}
