package iceberg_test

import (
	"testing"

	"lakehouse/app/apptest"
)

// moduleWrites is what writeEveryModule wrote beside the datasets.
type moduleWrites struct {
	first, revised string // pathway uids: a retired trace and its revision
}

// writeEveryModule writes through the modules beside the catalog: a
// pathway trace (updated, revised, retired: it has a history), a vector
// index with an item, and an observer event.
func writeEveryModule(t *testing.T, s *apptest.Server) moduleWrites {
	t.Helper()
	var a, r struct {
		UID string `json:"uid"`
	}
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"role": "forklift driver"}, "tags": []string{"ops"}}, 200, &a)
	s.JSON(t, "POST", "/v1/pathway/update", map[string]any{"uid": a.UID, "content": map[string]any{"role": "night shift lead"}}, 200, nil)
	s.JSON(t, "POST", "/v1/pathway/revise", map[string]any{"predecessor_uid": a.UID, "content": map[string]any{"role": "supervisor"}}, 200, &r)
	s.JSON(t, "POST", "/v1/pathway/retire", map[string]any{"uid": a.UID}, 200, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "newnode", "dimension": 3, "distance": "cosine"}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index/newnode/add", map[string]any{"items": []map[string]any{
		{"id": "v1", "vector": []float32{1, 0, 0}, "metadata": map[string]any{"k": "x"}}}}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "newnode", "source": "newnode-e2e"}, 200, nil)
	return moduleWrites{first: a.UID, revised: r.UID}
}

// checkEveryModule finds on s everything writeEveryModule wrote.
func checkEveryModule(t *testing.T, s *apptest.Server, w moduleWrites) {
	t.Helper()
	var hist struct {
		Chain []struct {
			UID     string         `json:"uid"`
			Content map[string]any `json:"content"`
			Retired bool           `json:"retired"`
		} `json:"chain"`
	}
	s.JSON(t, "GET", "/v1/pathway/history/"+w.revised, nil, 200, &hist)
	h := hist.Chain
	if len(h) != 2 || h[0].UID != w.revised || h[1].UID != w.first || !h[1].Retired || h[1].Content["role"] != "night shift lead" {
		t.Errorf("new node: pathway history of %s = %+v", w.revised, h)
	}
	var sr struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	s.JSON(t, "POST", "/v1/vectors/index/newnode/search", map[string]any{"vector": []float32{1, 0, 0}, "k": 1}, 200, &sr)
	if len(sr.Results) != 1 || sr.Results[0].ID != "v1" {
		t.Errorf("new node: vector search = %+v", sr)
	}
	var ev struct {
		Events []map[string]any `json:"events"`
	}
	s.JSON(t, "GET", "/v1/observer/events?source=newnode-e2e", nil, 200, &ev)
	if len(ev.Events) != 1 {
		t.Errorf("new node: observer events = %+v", ev.Events)
	}
}
