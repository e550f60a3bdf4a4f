package vector_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

// scrapeVector reads /metrics and returns every lakehouse_vector_ sample
// as "name{labels}" → value.
func scrapeVector(t *testing.T, s *apptest.Server) map[string]float64 {
	t.Helper()
	resp, body := s.Do(t, "GET", "/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^(lakehouse_vector_\S+) (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", m[0], err)
		}
		out[m[1]] = v
	}
	return out
}

// itemSum adds up lakehouse_vector_items over its index labels.
func itemSum(m map[string]float64) float64 {
	sum := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, "lakehouse_vector_items{") {
			sum += v
		}
	}
	return sum
}

// TestHTTPVectorMetrics: the vector module's series on the real /metrics
// move with the traffic that implies them (searches by mode and outcome,
// their latency, the plan taken, adds and deletes, indexes, items and
// vector memory per index), and per-index series stay bounded however
// many indexes clients create.
func TestHTTPVectorMetrics(t *testing.T) {
	s := apptest.Start(t)
	// Other modules may keep indexes of their own (pathway's _pathway).
	base := scrapeVector(t, s)
	own, ownItems := base[`lakehouse_vector_indexes`], itemSum(base)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "jobs", "dimension": 3}, 201, nil)
	items := []map[string]any{}
	for i := range 5 {
		items = append(items, map[string]any{"id": fmt.Sprint("j", i), "vector": []float64{1, float64(i), 1},
			"text": fmt.Sprint("crane operator NCCCO ", i), "metadata": map[string]any{"city": "austin"}})
	}
	s.JSON(t, "POST", "/v1/vectors/index/jobs/add", map[string]any{"items": items}, 200, nil)
	s.JSON(t, "DELETE", "/v1/vectors/index/jobs/items/j4", nil, 204, nil)

	before := scrapeVector(t, s)
	for name, want := range map[string]float64{
		`lakehouse_vector_searches_total{mode="vector",outcome="ok"}`:   0,
		`lakehouse_vector_search_duration_seconds_count{mode="vector"}`: 0,
		`lakehouse_vector_search_plans_total{plan="exact"}`:             0,
		`lakehouse_vector_items_added_total`:                            5,
		`lakehouse_vector_items_deleted_total`:                          1,
		`lakehouse_vector_indexes`:                                      own + 1,
		`lakehouse_vector_items{index="jobs"}`:                          4,
		`lakehouse_vector_quarantined_files`:                            0,
	} {
		if got, ok := before[name]; !ok || got != want {
			t.Errorf("before searching: %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if before[`lakehouse_vector_memory_bytes{index="jobs"}`] < 5*3*4 {
		t.Errorf("vector memory of jobs: %v bytes, want at least the 5 float32 rows", before[`lakehouse_vector_memory_bytes{index="jobs"}`])
	}

	search := "/v1/vectors/index/jobs/search"
	s.JSON(t, "POST", search, map[string]any{"vector": []float64{1, 2, 1}, "k": 2}, 200, nil)
	s.JSON(t, "POST", search, map[string]any{"vector": []float64{1, 2, 1}, "k": 2, "filter": map[string]any{"city": "austin"}}, 200, nil)
	s.JSON(t, "POST", search, map[string]any{"mode": "keyword", "text": "NCCCO", "k": 2}, 200, nil)
	s.JSON(t, "POST", search, map[string]any{"mode": "hybrid", "text": "NCCCO", "vector": []float64{1, 2, 1}, "k": 2}, 200, nil)
	s.Fail(t, "POST", search, map[string]any{"mode": "semantic", "text": "x"}, 400)
	s.Fail(t, "POST", search, map[string]any{"vector": []float64{1, 2}}, 400)
	s.Fail(t, "POST", "/v1/vectors/index/nope/search", map[string]any{"vector": []float64{1, 2, 1}}, 404)

	after := scrapeVector(t, s)
	for name, delta := range map[string]float64{
		`lakehouse_vector_searches_total{mode="vector",outcome="ok"}`:            2,
		`lakehouse_vector_searches_total{mode="keyword",outcome="ok"}`:           1,
		`lakehouse_vector_searches_total{mode="hybrid",outcome="ok"}`:            1,
		`lakehouse_vector_searches_total{mode="unknown",outcome="client_error"}`: 1,
		`lakehouse_vector_searches_total{mode="vector",outcome="client_error"}`:  2,
		`lakehouse_vector_search_duration_seconds_count{mode="vector"}`:          4,
		`lakehouse_vector_search_duration_seconds_count{mode="keyword"}`:         1,
		`lakehouse_vector_search_duration_seconds_count{mode="hybrid"}`:          1,
		// A 4-item index is below the planner's graph threshold: the
		// filtered search scans (and the hybrid's vector side walks).
		`lakehouse_vector_search_plans_total{plan="exact"}`: 1,
		`lakehouse_vector_search_plans_total{plan="graph"}`: 2,
	} {
		if got := after[name] - before[name]; got != delta {
			t.Errorf("%s went from %v to %v, want +%v", name, before[name], after[name], delta)
		}
	}

	// Per-index series: the 32 largest get a label, the rest are summed.
	for i := range 40 {
		s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": fmt.Sprintf("tenant-%02d", i), "dimension": 2}, 201, nil)
	}
	s.JSON(t, "POST", "/v1/vectors/index/tenant-07/add", map[string]any{"items": []map[string]any{{"id": "a", "vector": []float64{1, 2}}}}, 200, nil)
	m := scrapeVector(t, s)
	labelled := 0
	for k := range m {
		if strings.HasPrefix(k, "lakehouse_vector_items{") {
			labelled++
		}
	}
	if labelled != 33 || m[`lakehouse_vector_indexes`] != own+41 || itemSum(m) != ownItems+5 {
		t.Errorf("%v indexes: %d items series summing to %v, indexes gauge %v; want 33 (32 + \"(other)\"), %v, %v",
			own+41, labelled, itemSum(m), m[`lakehouse_vector_indexes`], ownItems+5, own+41)
	}
	if m[`lakehouse_vector_items{index="jobs"}`] != 4 || m[`lakehouse_vector_items{index="tenant-07"}`] != 1 {
		t.Errorf("the largest indexes lost their own series: %v", m)
	}
	if _, ok := m[`lakehouse_vector_items{index="(other)"}`]; !ok {
		t.Errorf("no (other) series with 41 indexes")
	}
}
