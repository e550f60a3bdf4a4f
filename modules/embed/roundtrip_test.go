package embed_test

import (
	"testing"

	"lakehouse/app/apptest"
)

type searchAnswer struct {
	Results []struct {
		ID       string  `json:"id"`
		Distance float32 `json:"distance"`
	} `json:"results"`
}

var roundTripDocs = map[string]string{
	"w1": "Forklift operator with OSHA-30 certification, night shift",
	"w2": "Registered nurse with ICU and BLS experience",
	"w3": "Java backend developer, Spring and Kubernetes",
	"w4": "Journeyman electrician, industrial wiring and conduit",
	"w5": "Dental hygienist, cleanings and x-rays",
}

// TestEmbedAddSearchRoundTrip: embed → add → search through HTTP with the
// builtin provider, then the same with text in place of vectors.
func TestEmbedAddSearchRoundTrip(t *testing.T) {
	s := apptest.Start(t)
	ids := []string{"w1", "w2", "w3", "w4", "w5"}
	texts := make([]string, len(ids))
	for i, id := range ids {
		texts[i] = roundTripDocs[id]
	}
	var emb struct {
		Dimension int         `json:"dimension"`
		Vectors   [][]float32 `json:"vectors"`
	}
	s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": texts}, 200, &emb)

	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "workers", "dimension": emb.Dimension, "distance": "cosine"}, 201, nil)
	items := make([]map[string]any, len(ids))
	for i, id := range ids {
		items[i] = map[string]any{"id": id, "vector": emb.Vectors[i]}
	}
	s.JSON(t, "POST", "/v1/vectors/index/workers/add", map[string]any{"items": items}, 200, nil)

	queries := map[string]string{
		"forklift driver OSHA-30":            "w1",
		"electrician with industrial wiring": "w4",
		"ICU nurse":                          "w2",
		"software engineer who knows Spring": "w3",
		"teeth cleaning hygienist":           "w5",
	}
	for q, want := range queries {
		var qv struct{ Vectors [][]float32 }
		s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": []string{q}, "purpose": "query"}, 200, &qv)
		var got searchAnswer
		s.JSON(t, "POST", "/v1/vectors/index/workers/search", map[string]any{"vector": qv.Vectors[0], "k": 2}, 200, &got)
		if len(got.Results) == 0 || got.Results[0].ID != want {
			t.Errorf("%q: top %+v, want %s", q, got.Results, want)
		}
	}

	// Text in place of vectors: the index records the model and the server embeds.
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "workers-text", "model": "use-lite-512"}, 201, nil)
	titems := make([]map[string]any, len(ids))
	for i, id := range ids {
		titems[i] = map[string]any{"id": id, "text": roundTripDocs[id]}
	}
	s.JSON(t, "POST", "/v1/vectors/index/workers-text/add", map[string]any{"items": titems}, 200, nil)
	for q, want := range queries {
		var got searchAnswer
		s.JSON(t, "POST", "/v1/vectors/index/workers-text/search", map[string]any{"text": q, "k": 1}, 200, &got)
		if len(got.Results) != 1 || got.Results[0].ID != want {
			t.Errorf("text %q: %+v, want %s", q, got.Results, want)
		}
	}
}
