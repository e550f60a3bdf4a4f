package catalog

import "lakehouse/app"

// RouteDocs implements app.Documented: the request and answer types of
// the catalog routes, for GET /openapi.json.
func (m *Module) RouteDocs() map[string]app.RouteDoc {
	return map[string]app.RouteDoc{
		"POST /register":         {Summary: "register a dataset version", Request: registerBody{}, Response: ManifestResponse{}, Status: 201},
		"GET /list":              {Summary: "every dataset's latest version"},
		"GET /manifest/:name":    {Summary: "a dataset's manifest", Response: ManifestResponse{}},
		"GET /versions/:name":    {Summary: "a dataset's versions"},
		"DELETE /datasets/:name": {Summary: "delete a dataset"},
	}
}
