package vector_test

import (
	"fmt"
	"slices"
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
	e = s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x", "dimension": 2, "quantization": "int8", "rescore": "ssd"}, 400)
	if !strings.Contains(e.Error.Message, `"disk"`) {
		t.Fatalf("message: %q", e.Error.Message)
	}
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

// "rescore": "disk" is accepted; GET reports the int8 memory and the bytes
// on disk, and a restart (which rebuilds the file) answers the same.
func TestHTTPInt8DiskIndex(t *testing.T) {
	s := apptest.Start(t)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "d8", "dimension": 64, "quantization": "int8", "rescore": "disk"}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "f", "dimension": 64}, 201, nil)
	var items []map[string]any
	for i := 0; i < 50; i++ {
		v := make([]float32, 64)
		v[i%64], v[(i*7+3)%64] = 1, float32(i)/50
		items = append(items, map[string]any{"id": fmt.Sprint(i), "vector": v})
	}
	for _, name := range []string{"d8", "f"} {
		s.JSON(t, "POST", "/v1/vectors/index/"+name+"/add", map[string]any{"items": items}, 200, nil)
	}
	type info struct {
		Quantization      string `json:"quantization"`
		Rescore           string `json:"rescore"`
		VectorMemoryBytes int64  `json:"vector_memory_bytes"`
		RescoreDiskBytes  *int64 `json:"rescore_disk_bytes"`
	}
	var f info
	s.JSON(t, "GET", "/v1/vectors/index/f", nil, 200, &f)
	type hit struct {
		ID       string  `json:"id"`
		Distance float32 `json:"distance"`
	}
	var first []hit
	check := func(s *apptest.Server) {
		t.Helper()
		var d info
		s.JSON(t, "GET", "/v1/vectors/index/d8", nil, 200, &d)
		ratio := float64(d.VectorMemoryBytes) / float64(f.VectorMemoryBytes)
		if d.Quantization != "int8" || d.Rescore != "disk" || ratio > 0.3 || d.RescoreDiskBytes == nil || *d.RescoreDiskBytes < 50*64*4 {
			t.Fatalf("info: %+v (vector memory %.3f× float32's)", d, ratio)
		}
		var res struct {
			Results []hit `json:"results"`
		}
		s.JSON(t, "POST", "/v1/vectors/index/d8/search", map[string]any{"vector": items[17]["vector"], "k": 5}, 200, &res)
		if len(res.Results) != 5 || res.Results[0].ID != "17" || res.Results[0].Distance > 1e-5 {
			t.Fatalf("search: %+v", res)
		}
		if first == nil {
			first = res.Results
		} else if !slices.Equal(first, res.Results) {
			t.Fatalf("search after restart %+v, before %+v", res.Results, first)
		}
	}
	check(s)
	check(s.Restart(t))
}
