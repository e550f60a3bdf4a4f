package cli_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// metricValue is the sum of every sample of name whose labels contain
// each of labels, in a Prometheus text scrape; found says whether any did.
func metricValue(scrape, name string, labels ...string) (sum float64, found bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(scrape, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[1], l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// TestModuleMetricsOnScrape: after one ingest, query, timed-out query,
// embed (twice, so one cache hit), and workflow run through the real
// server, /metrics shows each module's series with the values that
// traffic implies.
func TestModuleMetricsOnScrape(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.RingSize = 3 })
	csv := "id,name\n1,ann\n2,bob\n3,cy\n"
	s.JSON(t, "POST", "/v1/ingest?name=people", csv, 201, nil)
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM people"}, 200, nil)
	s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM range(10000000000) a, range(1000) b", "timeout_ms": 50}, 504)
	for range 2 {
		s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift driver"}}, 200, nil)
	}
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"nodes": []any{
		map[string]any{"id": "q", "mode": "sql", "inputs": map[string]any{"sql": "SELECT 1 AS one"}}}}, 200, nil)

	for range 2 { // with the ingest, the run and its node: 5 rows in a ring of 3
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "x"}, 200, nil)
	}

	resp, body := s.Do(t, "GET", "/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	scrape := string(body)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"lakehouse_ingest_rows_total", nil, 3},
		{"lakehouse_ingest_bytes_total", nil, float64(len(csv))},
		{"lakehouse_ingest_requests_total", []string{`outcome="created"`}, 1},
		{"lakehouse_query_duration_seconds_count", []string{`outcome="ok"`}, 2}, // the SQL route and the workflow node
		{"lakehouse_query_duration_seconds_count", []string{`outcome="timeout"`}, 1},
		{"lakehouse_query_timeouts_total", nil, 1},
		{"lakehouse_embed_cache_hits_total", nil, 1},
		{"lakehouse_embed_cache_misses_total", nil, 1},
		{"lakehouse_embed_cache_hit_ratio", nil, 0.5},
		{"lakehouse_observer_ring_events", nil, 3},
		{"lakehouse_observer_ring_capacity", nil, 3},
		{"lakehouse_observer_evictions_total", nil, 2},
		{"lakehouse_observer_persist_failures_total", nil, 0},
		{"lakehouse_workflow_runs_total", []string{`status="succeeded"`}, 1},
		{"lakehouse_workflow_nodes_total", []string{`status="succeeded"`}, 1},
		{"lakehouse_workflow_runs_in_progress", nil, 0},
		{"lakehouse_http_requests_total", []string{`module="query"`, `route="/v1/sql"`}, 2},
	} {
		v, found := metricValue(scrape, c.name, c.labels...)
		if !found || v < c.min {
			t.Errorf("%s%v = %v (found %v), want at least %v", c.name, c.labels, v, found, c.min)
		}
	}
}
