package storage

import "lakehouse/modules/kit"

// Deleted is the answer of DELETE /v1/storage/delete/<key> (and
// /objects/<key>).
type Deleted struct {
	Key     string `json:"key"`
	Deleted bool   `json:"deleted"`
}

// ListAnswer is GET /v1/storage/list: one page of objects under prefix;
// cursor (when truncated) asks for the next.
type ListAnswer struct {
	Prefix    string       `json:"prefix"`
	Objects   []ObjectInfo `json:"objects"`
	Count     int          `json:"count"`
	Cursor    string       `json:"cursor"`
	Truncated bool         `json:"truncated"`
}

// RouteDocs implements kit.Documented for GET /openapi.json. Object
// bodies are opaque bytes of any type, so PUT has no JSON request and GET
// answers the bytes themselves.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	put := kit.RouteDoc{Summary: "store an object (raw bytes of any type) under the key", Response: ObjectInfo{}, Status: 201}
	get := kit.RouteDoc{Summary: "an object's bytes, with its ETag, size and modification time"}
	del := kit.RouteDoc{Summary: "delete an object", Response: Deleted{}}
	return map[string]kit.RouteDoc{
		"PUT /put/*":        put,
		"PUT /objects/*":    put,
		"GET /get/*":        get,
		"GET /objects/*":    get,
		"HEAD /objects/*":   {Summary: "an object's ETag, size and modification time, without the bytes"},
		"DELETE /delete/*":  del,
		"DELETE /objects/*": del,
		"GET /list":         {Summary: "objects under ?prefix, a page of at most ?limit, from ?cursor", Response: ListAnswer{}},
	}
}
