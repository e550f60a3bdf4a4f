package vector_test

import (
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// The vector routes read their bodies with the shared kit.DecodeJSON, so
// a bad body answers as on every other module: 400 malformed_json naming
// line, column and field; one object only; the add cap a 413; unknown
// fields still allowed (API-COMPAT clients send more than a route reads).
func TestHTTPVectorBodiesUseSharedDecoder(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Vector.MaxBatchBytes = 4 << 10 })
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "v", "dimension": 3, "future_option": true}, 201, nil)
	for _, c := range []struct {
		path, body, want string
		line, col        float64 // 0: no position expected
		field            string
	}{
		{"/v1/vectors/index/v/search", "{\"vector\":[1,2,3],\n  \"k\": \"ten\"}", `field "k" must be int`, 2, 13, "k"},
		{"/v1/vectors/index/v/search", "{\"vector\":[1,2,3],\n\"k\":1,,}", "invalid character", 2, 7, ""},
		{"/v1/vectors/index/v/search", `{"vector":[1,2,3]} {"k":1}`, "data after the JSON object", 1, 20, ""},
		{"/v1/vectors/index/v/search", `[1,2,3]`, "must be a JSON object", 1, 1, ""},
		{"/v1/vectors/index/v/search", ``, "empty body", 0, 0, ""},
		{"/v1/vectors/index/v/add", `{"items":[{"id":"a","vector":[1,2,3]}]`, "ends before the object does", 1, 39, ""},
		{"/v1/vectors/index", `{"name":"x","dimension":"3"}`, `field "dimension"`, 1, 28, "dimension"},
	} {
		e := s.Fail(t, "POST", c.path, c.body, 400)
		if e.Error.Code != "malformed_json" || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("POST %s %q: %s %q, want malformed_json with %q", c.path, c.body, e.Error.Code, e.Error.Message, c.want)
		}
		if c.line > 0 && (e.Error.Details["line"] != c.line || e.Error.Details["column"] != c.col) {
			t.Errorf("POST %s %q: details %v, want line %v column %v", c.path, c.body, e.Error.Details, c.line, c.col)
		}
		if c.field != "" && e.Error.Details["field"] != c.field {
			t.Errorf("POST %s %q: details %v, want field %q", c.path, c.body, e.Error.Details, c.field)
		}
	}
	// The add route's own cap (vector.max_batch_bytes) stays a 413.
	big := `{"items":[{"id":"a","vector":[1,2,3],"text":"` + strings.Repeat("x", 8<<10) + `"}]}`
	s.Fail(t, "POST", "/v1/vectors/index/v/add", big, 413)
	// Unknown fields are ignored, and nothing refused was stored.
	var info struct {
		Length int `json:"length"`
	}
	s.JSON(t, "POST", "/v1/vectors/index/v/add", `{"items":[{"id":"a","vector":[1,2,3],"colour":"red"}],"dry":false}`, 200, nil)
	if s.JSON(t, "GET", "/v1/vectors/index/v", nil, 200, &info); info.Length != 1 {
		t.Fatalf("length %d, want 1", info.Length)
	}
}
