package pathway_test

import (
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/embed/builtin"
	"lakehouse/modules/pathway"
)

// TestHTTP_SemanticSearchWithEmbedAndVector runs the real embed (builtin
// encoder) and vector modules: traces are embedded into the "_pathway"
// index on write and a search without shared words finds by meaning.
func TestHTTP_SemanticSearchWithEmbedAndVector(t *testing.T) {
	if err := builtin.New().Present(); err != nil {
		t.Skipf("builtin embedder weights missing (run make deps): %v", err)
	}
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"pathway", "embed", "vector"} })
	docs := map[string]string{
		"forklift": "forklift driver, OSHA-30 certified, loads pallets in the warehouse",
		"electric": "licensed electrician, industrial wiring and panel installs",
		"dental":   "dental hygienist, cleans teeth at a family practice",
		"cnc":      "CNC machine operator, first article inspection",
	}
	uid := map[string]string{}
	for k, text := range docs {
		var tr struct{ UID string }
		s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"summary": text}}, 200, &tr)
		uid[tr.UID] = k
	}
	waitIndexed(t, s, len(docs))
	var sr struct {
		Results []struct {
			UID   string  `json:"uid"`
			Score float64 `json:"score"`
		} `json:"results"`
		Mode string `json:"mode"`
	}
	s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"text": "someone to look after my teeth", "limit": 2}, 200, &sr)
	if sr.Mode != pathway.ModeSemantic || len(sr.Results) == 0 || uid[sr.Results[0].UID] != "dental" {
		t.Fatalf("semantic search: mode %s results %+v (%v)", sr.Mode, sr.Results, uid)
	}
	// Retired traces disappear from semantic results too.
	s.JSON(t, "POST", "/v1/pathway/retire", map[string]any{"uid": sr.Results[0].UID}, 200, nil)
	s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"text": "someone to look after my teeth", "limit": 4}, 200, &sr)
	for _, r := range sr.Results {
		if uid[r.UID] == "dental" {
			t.Fatal("retired trace in semantic results")
		}
	}
	// After a restart the index is reused (same model, same size).
	s = s.Restart(t)
	waitIndexed(t, s, len(docs)-1)
	s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"text": "lift truck driver", "limit": 1}, 200, &sr)
	if sr.Mode != pathway.ModeSemantic || len(sr.Results) != 1 || uid[sr.Results[0].UID] != "forklift" {
		t.Fatalf("after restart: mode %s results %+v", sr.Mode, sr.Results)
	}
}

// waitIndexed waits until the semantic worker is idle and the vector
// index holds n vectors.
func waitIndexed(t *testing.T, s *apptest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			Semantic struct {
				Enabled bool
				Pending bool
			}
		}
		s.JSON(t, "GET", "/v1/pathway/stats", nil, 200, &st)
		var info struct{ Length int }
		resp, _ := s.Do(t, "GET", "/v1/vectors/index/_pathway", nil)
		if resp.StatusCode == 200 {
			s.JSON(t, "GET", "/v1/vectors/index/_pathway", nil, 200, &info)
		}
		if !st.Semantic.Enabled {
			t.Fatalf("semantic search not enabled with embed and vector running")
		}
		if !st.Semantic.Pending && info.Length == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index never reached %d vectors (stats %+v, length %d)", n, st, info.Length)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
