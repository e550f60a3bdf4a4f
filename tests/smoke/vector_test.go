package smoke

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

type hit struct {
	ID       string         `json:"id"`
	Distance float64        `json:"distance"`
	Metadata map[string]any `json:"metadata"`
}

type hits struct {
	Results []hit `json:"results"`
}

type indexInfo struct {
	Name      string `json:"name"`
	Dimension int    `json:"dimension"`
	Length    int    `json:"length"`
}

// TestVectors: an HNSW index over 4000 random vectors finds the true
// nearest neighbours (recall@10 against an exact scan); a second create of
// the same name is 409; a missing dimension is 400; a batch with one vector
// of the wrong dimension is refused whole, and so is a query of the wrong
// dimension; then the server is killed with SIGKILL and, after the
// restart, every acknowledged vector is there (length, each found by its
// own vector), the deleted one is still gone and recall is unchanged.
func TestVectors(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil)
	s := n.start(t)
	const dim, count, queries, k = 32, 4000, 100, 10
	r := rand.New(rand.NewPCG(25, 4))
	vec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	data := make([][]float32, count)
	items := make([]map[string]any, count)
	for i := range data {
		data[i] = vec()
		items[i] = map[string]any{"id": fmt.Sprintf("v%04d", i), "vector": data[i], "metadata": map[string]any{"n": i}}
	}

	var info indexInfo
	s.Call(t, "POST", "/v1/vectors/index", map[string]any{"name": "emb", "dimension": dim, "distance": "cosine", "ef_search": 100}, 201, &info)
	if info.Name != "emb" || info.Dimension != dim || info.Length != 0 {
		t.Fatalf("create: %+v", info)
	}
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "emb", "dimension": dim}, 409, "")
	s.Fail(t, "POST", "/v1/vectors/index", map[string]any{"name": "nodim"}, 400, "")
	s.Fail(t, "POST", "/v1/vectors/index/missing/search", map[string]any{"vector": data[0], "k": 1}, 404, "")
	var added struct {
		Added  int `json:"added"`
		Length int `json:"length"`
	}
	for i := 0; i < count; i += 1000 {
		s.Call(t, "POST", "/v1/vectors/index/emb/add", map[string]any{"items": items[i : i+1000]}, 200, &added)
	}
	if added.Added != 1000 || added.Length != count {
		t.Fatalf("add: %+v", added)
	}

	// Dimension mismatch: the whole batch is refused, and so is the query.
	s.Fail(t, "POST", "/v1/vectors/index/emb/add", map[string]any{"items": []map[string]any{
		{"id": "fine", "vector": vec()}, {"id": "short", "vector": make([]float32, dim-1)}}}, 400, "")
	s.Fail(t, "POST", "/v1/vectors/index/emb/search", map[string]any{"vector": make([]float32, dim+1), "k": 1}, 400, "")
	s.Call(t, "GET", "/v1/vectors/index/emb", nil, 200, &info)
	if info.Length != count {
		t.Fatalf("a refused batch changed the index: length %d", info.Length)
	}
	s.Call(t, "DELETE", "/v1/vectors/index/emb/items/v0007", nil, 204, nil)

	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = vec()
	}
	recall := func(s *server) float64 {
		t.Helper()
		found := 0
		for _, q := range qs {
			var res hits
			s.Call(t, "POST", "/v1/vectors/index/emb/search", map[string]any{"vector": q, "k": k}, 200, &res)
			if !sort.SliceIsSorted(res.Results, func(i, j int) bool { return res.Results[i].Distance < res.Results[j].Distance }) {
				t.Fatalf("results not sorted by distance: %+v", res.Results)
			}
			truth := exactTop(data, q, k, 7)
			for _, h := range res.Results {
				found += btoi(slices.Contains(truth, h.ID))
			}
		}
		return float64(found) / float64(queries*k)
	}
	before := recall(s)
	if before < 0.95 {
		t.Fatalf("recall@%d = %.3f, want ≥ 0.95", k, before)
	}

	s.kill()
	s = n.start(t)
	s.Call(t, "GET", "/v1/vectors/index/emb", nil, 200, &info)
	if info.Length != count-1 {
		t.Fatalf("after kill -9: length %d, want %d", info.Length, count-1)
	}
	for i := 0; i < count; i += 97 {
		var res hits
		s.Call(t, "POST", "/v1/vectors/index/emb/search", map[string]any{"vector": data[i], "k": 1, "ef": 200}, 200, &res)
		id := fmt.Sprintf("v%04d", i)
		if len(res.Results) != 1 || res.Results[0].ID != id || res.Results[0].Distance > 1e-5 || res.Results[0].Metadata["n"] != float64(i) {
			t.Fatalf("after kill -9, %s not found by its own vector: %+v", id, res.Results)
		}
	}
	var res hits
	s.Call(t, "POST", "/v1/vectors/index/emb/search", map[string]any{"vector": data[7], "k": 1, "ef": 200}, 200, &res)
	if len(res.Results) == 1 && res.Results[0].ID == "v0007" {
		t.Fatal("the deleted item came back after kill -9")
	}
	after := recall(s)
	if after < 0.95 {
		t.Fatalf("recall@%d after kill -9: %.3f (before %.3f)", k, after, before)
	}
	t.Logf("recall@%d: %.3f before kill -9, %.3f after", k, before, after)
}

// exactTop is the ids of the k vectors nearest to q by cosine distance, by
// a full scan; skip is an index left out (deleted).
func exactTop(data [][]float32, q []float32, k, skip int) []string {
	type cand struct {
		i int
		d float64
	}
	var all []cand
	for i, v := range data {
		if i != skip {
			all = append(all, cand{i, 1 - cosine(v, q)})
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].d < all[b].d })
	ids := make([]string, k)
	for i := range ids {
		ids[i] = fmt.Sprintf("v%04d", all[i].i)
	}
	return ids
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEmbedAddSearch: the built-in encoder (embedded in the binary, no
// network) embeds a few candidate profiles; they go into a 512-d index and
// a query written in other words finds the right profile first. The cache
// answers a repeated text; an empty text is 400.
func TestEmbedAddSearch(t *testing.T) {
	t.Parallel()
	s := newNode(t, nil).start(t)
	profiles := map[string]string{
		"forklift":  "Forklift operator with OSHA-30 certification and five years in warehouse shipping and receiving",
		"nurse":     "Registered nurse working night shifts in a pediatric intensive care unit",
		"java":      "Senior Java developer building Spring Boot microservices and REST APIs",
		"cnc":       "CNC machinist who reads blueprints and performs first article inspection",
		"bilingual": "Bilingual Spanish and English customer service representative in a busy call center",
	}
	ids := []string{"forklift", "nurse", "java", "cnc", "bilingual"}
	texts := make([]string, len(ids))
	for i, id := range ids {
		texts[i] = profiles[id]
	}
	var emb struct {
		Model     string      `json:"model"`
		Dimension int         `json:"dimension"`
		Vectors   [][]float32 `json:"vectors"`
	}
	s.Call(t, "POST", "/v1/embed", map[string]any{"texts": texts}, 200, &emb)
	if emb.Dimension != 512 || len(emb.Vectors) != len(texts) || len(emb.Vectors[0]) != 512 || emb.Model == "" {
		t.Fatalf("embed: model %q dimension %d, %d vectors", emb.Model, emb.Dimension, len(emb.Vectors))
	}
	s.Call(t, "POST", "/v1/vectors/index", map[string]any{"name": "profiles", "dimension": 512, "distance": "cosine"}, 201, nil)
	items := make([]map[string]any, len(ids))
	for i, id := range ids {
		items[i] = map[string]any{"id": id, "vector": emb.Vectors[i], "metadata": map[string]any{"text": texts[i]}}
	}
	s.Call(t, "POST", "/v1/vectors/index/profiles/add", map[string]any{"items": items}, 200, nil)

	for query, want := range map[string]string{
		"software engineer who writes Java backend services":       "java",
		"lift truck driver at a distribution warehouse":            "forklift",
		"hospital nurse caring for sick children":                  "nurse",
		"machinist operating computer controlled milling machines": "cnc",
		"phone support representative fluent in Spanish":           "bilingual",
	} {
		var q struct {
			Vectors [][]float32 `json:"vectors"`
		}
		s.Call(t, "POST", "/v1/embed", map[string]any{"texts": []string{query}, "purpose": "query"}, 200, &q)
		var res hits
		s.Call(t, "POST", "/v1/vectors/index/profiles/search", map[string]any{"vector": q.Vectors[0], "k": 3}, 200, &res)
		if len(res.Results) != 3 || res.Results[0].ID != want || res.Results[0].Metadata["text"] != profiles[want] {
			t.Fatalf("%q: top hits %+v, want %s first", query, res.Results, want)
		}
	}

	var before, after struct {
		Hits int `json:"hits"`
	}
	s.Call(t, "GET", "/v1/embed/stats", nil, 200, &before)
	s.Call(t, "POST", "/v1/embed", map[string]any{"texts": texts[:1]}, 200, nil)
	s.Call(t, "GET", "/v1/embed/stats", nil, 200, &after)
	if after.Hits != before.Hits+1 {
		t.Fatalf("a repeated text was not a cache hit: hits %d → %d", before.Hits, after.Hits)
	}
	s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"fine", ""}}, 400, "")
	s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{}}, 400, "")
}
