package pathway

import "lakehouse/modules/kit"

// RouteDocs implements kit.Documented for GET /openapi.json.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST /add":            {Summary: "add a trace", Request: addBody{}, Response: Trace{}},
		"POST /add_idempotent": {Summary: "add a trace under a uid, or replay it", Request: addBody{}, Response: Trace{}},
		"POST /update":         {Summary: "replace a trace's content", Request: addBody{}, Response: Trace{}},
		"POST /revise":         {Summary: "add a trace revising a predecessor", Request: addBody{}, Response: Trace{}},
		"POST /retire":         {Summary: "retire a trace", Request: addBody{}, Response: Trace{}},
		"POST /search":         {Summary: "search traces", Request: searchBody{}, Response: searchResponse{}},
		"GET /history/*":       {Summary: "a trace's predecessor chain", Response: historyResponse{}},
		"GET /stats":           {Summary: "trace counts and log state", Response: statsResponse{}},
	}
}
