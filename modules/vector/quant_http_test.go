package vector_test

import (
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

func TestHTTPInt8Index(t *testing.T) {
	s := apptest.Start(t)
	e := s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x", "dimension": 2, "quantization": "int4"}, 400)
	if !strings.Contains(e.Error.Message, `"int4"`) {
		t.Fatalf("message: %q", e.Error.Message)
	}
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x", "dimension": 2, "rescore": "memory"}, 400)
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x", "dimension": 2, "quantization": "int8", "rescore": "disk"}, 400)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "q8", "dimension": 4, "quantization": "int8", "distance": "l2"}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index/q8/add", map[string]any{"items": []map[string]any{
		{"id": "a", "vector": []float32{1, 0, 0, 0}}, {"id": "b", "vector": []float32{0, 1, 0, 0}}, {"id": "c", "vector": []float32{0, 0, 3, 1}}}}, 200, nil)
	check := func(s *apptest.Server) {
		t.Helper()
		var info map[string]any
		s.JSON(t, "GET", "/v1/vectors/index/q8", nil, 200, &info)
		if info["quantization"] != "int8" || info["rescore"] != "none" || info["vector_memory_bytes"].(float64) <= 0 {
			t.Fatalf("info: %v", info)
		}
		var res struct {
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
		}
		s.JSON(t, "POST", "/v1/vectors/index/q8/search", map[string]any{"vector": []float32{0, 0, 3, 1}, "k": 1}, 200, &res)
		if len(res.Results) != 1 || res.Results[0].ID != "c" {
			t.Fatalf("search: %+v", res)
		}
	}
	check(s)
	check(s.Restart(t))
}
