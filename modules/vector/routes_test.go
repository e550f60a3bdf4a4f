package vector_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

type result struct {
	ID       string         `json:"id"`
	Distance float64        `json:"distance"`
	Score    float64        `json:"score"`
	Metadata map[string]any `json:"metadata"`
}

type searchResponse struct {
	Results []result `json:"results"`
}

// reset empties r before a decode: json.Unmarshal merges into existing
// maps, which would hide a cleared metadata object.
func (r *searchResponse) reset() *searchResponse {
	*r = searchResponse{}
	return r
}

type infoResponse struct {
	Name      string `json:"name"`
	Dimension int    `json:"dimension"`
	Distance  string `json:"distance"`
	M         int    `json:"m"`
	EfSearch  int    `json:"ef_search"`
	Length    int    `json:"length"`
	Memory    int64  `json:"memory_bytes"`
}

// TestHTTPScenario walks the original system's g1 scenario through the real
// server: create, duplicate, bad input, add, search, info, upsert, delete
// item, restart, drop.
func TestHTTPScenario(t *testing.T) {
	s := apptest.Start(t)
	var info infoResponse
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "g1", "dimension": 3, "m": 16, "ef_search": 20, "distance": "cosine"}, 201, &info)
	if info.Name != "g1" || info.Dimension != 3 || info.Distance != "cosine" || info.Length != 0 {
		t.Fatalf("create answer: %+v", info)
	}
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "g1", "dimension": 3}, 409)
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"dimension": 3}, 400)
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x"}, 400)
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "x", "dimension": 3, "distance": "manhattan"}, 400)
	s.Fail(t, "POST", "/v1/vectors/index", `{"name": "x", "dimension": `, 400)
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "../etc", "dimension": 3}, 400)
	// The field names are accepted too.
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "alt", "dim": 2, "metric": "l2", "ef_construction": 64}, 201, &info)
	if info.Dimension != 2 || info.Distance != "euclidean" {
		t.Fatalf("alias fields: %+v", info)
	}

	items := []map[string]any{
		{"id": "a", "vector": []float32{1, 0, 0}, "metadata": map[string]any{"city": "chicago", "rate": 30}},
		{"id": "b", "vector": []float32{0, 1, 0}, "metadata": map[string]any{"city": "austin", "rate": 50}},
		{"id": "c", "vector": []float32{0.9, 0.1, 0}},
	}
	s.JSON(t, "POST", "/v1/vectors/index/g1/add", map[string]any{"items": items}, 200, nil)
	e := s.Fail(t, "POST", "/v1/vectors/index/g1/add", map[string]any{"items": []map[string]any{
		{"id": "d", "vector": []float32{1, 1, 1}}, {"id": "e", "vector": []float32{1, 1}}}}, 400)
	if !strings.Contains(e.Error.Message, "dimension 2") || !strings.Contains(e.Error.Message, "dimension 3") {
		t.Fatalf("dim mismatch message must name both dims: %q", e.Error.Message)
	}
	s.Fail(t, "POST", "/v1/vectors/index/g1/add", map[string]any{"items": []map[string]any{{"id": "z", "vector": []float32{0, 0, 0}}}}, 400)
	s.Fail(t, "POST", "/v1/vectors/index/g1/add", `{"items":[{"id":"n","vector":[1,2,1e999]}]}`, 400)
	s.Fail(t, "POST", "/v1/vectors/index/nope/add", map[string]any{"items": items}, 404)
	s.Fail(t, "POST", "/v1/vectors/index/g1/add", map[string]any{}, 400)

	s.JSON(t, "GET", "/v1/vectors/index/g1", nil, 200, &info)
	if info.Length != 3 || info.M != 16 || info.EfSearch != 20 || info.Memory <= 0 {
		t.Fatalf("info: %+v (the rejected batch must add nothing)", info)
	}
	s.Fail(t, "GET", "/v1/vectors/index/nope", nil, 404)

	var sr searchResponse
	s.JSON(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{1, 0, 0}, "k": 2}, 200, sr.reset())
	if len(sr.Results) != 2 || sr.Results[0].ID != "a" || sr.Results[1].ID != "c" || sr.Results[0].Distance > 1e-6 ||
		sr.Results[0].Metadata["city"] != "chicago" || sr.Results[0].Distance > sr.Results[1].Distance {
		t.Fatalf("search: %+v", sr)
	}
	// cosine distance = 1 − cos
	if want := 1 - 0.9/mathHypot(0.9, 0.1); abs(sr.Results[1].Distance-want) > 1e-5 {
		t.Fatalf("cosine distance %v, want %v", sr.Results[1].Distance, want)
	}
	s.JSON(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{1, 0, 0}, "k": 3,
		"filter": map[string]any{"rate": map[string]any{"$gte": 40}}}, 200, sr.reset())
	if len(sr.Results) != 1 || sr.Results[0].ID != "b" {
		t.Fatalf("filtered search: %+v", sr)
	}
	s.Fail(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{1, 0}, "k": 2}, 400)
	s.Fail(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{1, 0, 0}, "filter": map[string]any{"a": map[string]any{"$near": 1}}}, 400)
	s.Fail(t, "POST", "/v1/vectors/index/nope/search", map[string]any{"vector": []float32{1, 0, 0}}, 404)

	// Upsert: new vector, null metadata keeps the old; {} clears.
	s.JSON(t, "POST", "/v1/vectors/index/g1/add", `{"items":[{"id":"a","vector":[0,0,1],"metadata":null}]}`, 200, nil)
	s.JSON(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{0, 0, 1}, "k": 1}, 200, sr.reset())
	if sr.Results[0].ID != "a" || sr.Results[0].Metadata["city"] != "chicago" {
		t.Fatalf("upsert kept metadata: %+v", sr)
	}
	s.JSON(t, "POST", "/v1/vectors/index/g1/add", `{"items":[{"id":"b","vector":[0,1,0],"metadata":{}}]}`, 200, nil)
	s.JSON(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{0, 1, 0}, "k": 1}, 200, sr.reset())
	if sr.Results[0].ID != "b" || len(sr.Results[0].Metadata) != 0 {
		t.Fatalf("{} clears metadata: %+v", sr)
	}

	// Delete one item.
	s.JSON(t, "DELETE", "/v1/vectors/index/g1/items/c", nil, 204, nil)
	s.Fail(t, "DELETE", "/v1/vectors/index/g1/items/c", nil, 404)
	var list struct {
		Indexes []infoResponse `json:"indexes"`
	}
	s.JSON(t, "GET", "/v1/vectors/index", nil, 200, &list)
	found := map[string]int{}
	for _, ix := range list.Indexes {
		found[ix.Name] = ix.Length
	}
	if n, ok := found["g1"]; !ok || n != 2 {
		t.Fatalf("list: %+v", list)
	}
	if _, ok := found["alt"]; !ok {
		t.Fatalf("list: %+v", list)
	}

	// Restart: everything acknowledged is there (g1p).
	s = s.Restart(t)
	s.JSON(t, "GET", "/v1/vectors/index/g1", nil, 200, &info)
	if info.Length != 2 {
		t.Fatalf("after restart: %+v", info)
	}
	s.JSON(t, "POST", "/v1/vectors/index/g1/search", map[string]any{"vector": []float32{0, 0, 1}, "k": 5}, 200, sr.reset())
	if len(sr.Results) != 2 || sr.Results[0].ID != "a" || sr.Results[0].Metadata["city"] != "chicago" {
		t.Fatalf("search after restart: %+v", sr)
	}

	// Drop: 204, files gone, 404 after.
	dir := filepath.Join(s.DataDir, "objects", "_vectors", "g1")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("expected persisted files under %s: %v", dir, err)
	}
	s.JSON(t, "DELETE", "/v1/vectors/index/g1", nil, 204, nil)
	s.Fail(t, "DELETE", "/v1/vectors/index/g1", nil, 404)
	s.Fail(t, "GET", "/v1/vectors/index/g1", nil, 404)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("drop left files: %v", entries)
	}
}

// TestHTTPLargeBatch: the add route takes batches far over the 4 MiB
// default body cap, and refuses ones over vector.max_batch_bytes with 413.
func TestHTTPLargeBatch(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Vector.MaxBatchBytes = 32 << 20 })
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "big", "dimension": 512}, 201, nil)
	rng := rand.New(rand.NewPCG(1, 1))
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	const n = 1000
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"i%d","vector":[`, i)
		for j := 0; j < 512; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.7f", rng.NormFloat64())
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	if b.Len() < 5<<20 {
		t.Fatalf("test body only %d bytes", b.Len())
	}
	s.JSON(t, "POST", "/v1/vectors/index/big/add", b.Bytes(), 200, nil)
	var info infoResponse
	s.JSON(t, "GET", "/v1/vectors/index/big", nil, 200, &info)
	if info.Length != n {
		t.Fatalf("length %d, want %d", info.Length, n)
	}
	huge := bytes.Repeat([]byte(" "), 33<<20)
	resp, _ := s.Do(t, "POST", "/v1/vectors/index/big/add", huge)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the cap: %d", resp.StatusCode)
	}
	// Search is a read: POST, but not audited as a write (kit.ReadOnly).
	s.JSON(t, "POST", "/v1/vectors/index/big/search", map[string]any{"vector": make([]float32, 512), "k": 1}, 400, nil)
}

func mathHypot(a, b float64) float64 { return math.Hypot(a, b) }

func abs(x float64) float64 { return math.Abs(x) }

// TestHTTPSearchModes: modes, explain and facets through the real server;
// an unknown mode is a 400 naming it; a keyword hit without a query
// vector carries no distance.
func TestHTTPSearchModes(t *testing.T) {
	s := apptest.Start(t)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "h", "dimension": 2}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index/h/add", map[string]any{"items": []map[string]any{
		{"id": "a", "vector": []float32{1, 0}, "text": "HVAC technician EPA-608", "metadata": map[string]any{"city": "chicago"}},
		{"id": "b", "vector": []float32{0, 1}, "text": "HVAC helper", "metadata": map[string]any{"city": "austin"}},
	}}, 200, nil)
	var raw map[string]any
	s.JSON(t, "POST", "/v1/vectors/index/h/search", map[string]any{"mode": "keyword", "text": "hvac epa 608", "explain": true,
		"facets": []string{"city"}}, 200, &raw)
	res := raw["results"].([]any)
	first := res[0].(map[string]any)
	if len(res) != 2 || first["id"] != "a" {
		t.Fatalf("keyword search: %v", raw)
	}
	if _, has := first["distance"]; has {
		t.Fatalf("keyword hit without a query vector has a distance: %v", first)
	}
	ex := first["explain"].(map[string]any)
	if ex["keyword_rank"] != 1.0 || len(ex["matched_terms"].([]any)) != 3 {
		t.Fatalf("explain: %v", ex)
	}
	if fc := raw["facets"].(map[string]any)["city"].([]any); len(fc) != 2 {
		t.Fatalf("facets: %v", raw["facets"])
	}
	raw = nil
	s.JSON(t, "POST", "/v1/vectors/index/h/search", map[string]any{"mode": "hybrid", "vector": []float32{0, 1}, "text": "hvac", "k": 1}, 200, &raw)
	if r := raw["results"].([]any); len(r) != 1 || r[0].(map[string]any)["id"] != "b" {
		t.Fatalf("hybrid: %v", raw)
	}
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "q8", "dimension": 2, "quantization": "int8"}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "f32", "dimension": 2, "quantization": "float32"}, 201, nil)
	e := s.Fail(t, "POST", "/v1/vectors/index/h/search", map[string]any{"mode": "fuzzy", "vector": []float32{0, 1}}, 400)
	if !strings.Contains(e.Error.Message, `"fuzzy"`) {
		t.Fatalf("unknown mode message: %q", e.Error.Message)
	}
	s.Fail(t, "POST", "/v1/vectors/index/h/search", map[string]any{"mode": "keyword"}, 400)
	// The default stays vector, with the same answer shape as before.
	raw = nil
	s.JSON(t, "POST", "/v1/vectors/index/h/search", map[string]any{"vector": []float32{1, 0}, "k": 1}, 200, &raw)
	if _, has := raw["facets"]; has || len(raw) != 1 {
		t.Fatalf("vector answer shape changed: %v", raw)
	}
}
