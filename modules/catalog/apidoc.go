package catalog

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented: the request and answer types of
// the catalog routes, for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST /register":              {Summary: "register a dataset version", Request: registerBody{}, Response: ManifestResponse{}, Status: 201},
		"GET /list":                   {Summary: "every dataset's latest version"},
		"GET /manifest/:name":         {Summary: "a dataset's manifest", Response: ManifestResponse{}},
		"GET /versions/:name":         {Summary: "a dataset's versions"},
		"DELETE /datasets/:name":      {Summary: "delete a dataset"},
		"GET /datasets/:name/changes": {Summary: "the change feed between two versions (?from=N&to=M): 307 to GET /v1/sql/changes/:name, which answers it", Status: 307},
		"GET /retention/:name":        {Summary: "the retention a dataset has and the versions it keeps", Response: RetentionInfo{}},
		"PUT /retention/:name":        {Summary: "give a dataset its own retention (or reset it); applied at once", Request: retentionBody{}},
		"GET /tags/:name":             {Summary: "a dataset's tags (pinned versions)"},
		"PUT /tags/:name/:tag":        {Summary: "pin a version under a tag; retention keeps it", Request: tagBody{}},
		"DELETE /tags/:name/:tag":     {Summary: "remove a tag"},
		"GET /keys":                   {Summary: "every visible dataset's key, foreign keys and the foreign keys referencing it"},
		"GET /keys/:name":             {Summary: "a dataset's key, foreign keys and the foreign keys of other datasets referencing it", Response: KeysInfo{}},
		"PUT /keys/:name":             {Summary: "declare a dataset's key and/or foreign keys (a field left out is kept; [] drops it)", Request: keysBody{}, Response: KeysInfo{}},
		"GET /maintenance":            {Summary: "versions, parts, metadata and the last maintenance of every dataset"},
		"POST /maintenance":           {Summary: "run maintenance now (?dataset=, ?dry_run=true)", Response: MaintenanceReport{}},
	}
}
