package workflow_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/observer"
	"lakehouse/modules/workflow"
)

// TestE2EWorkflowAuditedThroughEventsAndSQL is the end-to-end
// check: data goes in through ingest, embed and vectors; a 4-node workflow
// sql → embed → vector_search → pathway_add runs through HTTP; its four
// audit rows are read back through /v1/observer/events and through SQL
// over the observer_events dataset in the catalog.
func TestE2EWorkflowAuditedThroughEventsAndSQL(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Observer.ParquetInterval = config.Duration(100 * time.Millisecond)
	})
	csv := "id,name,role\n1,ann,forklift driver OSHA-30\n2,bob,electrician with industrial wiring\n3,cy,CNC operator with first article\n"
	resp, body := s.Do(t, "POST", "/v1/ingest?name=workers", csv)
	if resp.StatusCode >= 300 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	roles := []string{"forklift driver OSHA-30", "electrician with industrial wiring", "CNC operator with first article"}
	var emb struct {
		Dimension int         `json:"dimension"`
		Vectors   [][]float64 `json:"vectors"`
	}
	s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": roles}, 200, &emb)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "workers_idx", "dimension": emb.Dimension, "distance": "cosine"}, 201, nil)
	items := []any{}
	for i, v := range emb.Vectors {
		items = append(items, map[string]any{"id": fmt.Sprint(i + 1), "vector": v, "metadata": map[string]any{"role": roles[i]}})
	}
	resp, body = s.Do(t, "POST", "/v1/vectors/index/workers_idx/add", map[string]any{"items": items})
	if resp.StatusCode >= 300 {
		t.Fatalf("vector add: %d %s", resp.StatusCode, body)
	}

	var run workflow.Run
	s.JSON(t, "POST", "/v1/observer/workflow/run", map[string]any{"name": "e2e_match", "nodes": []any{
		map[string]any{"id": "q", "mode": "sql", "inputs": map[string]any{"sql": "SELECT role FROM workers WHERE id = 1"}},
		map[string]any{"id": "e", "mode": "embed", "inputs": map[string]any{"texts": "$q.output.rows.*.role"}},
		map[string]any{"id": "s", "mode": "vector_search", "inputs": map[string]any{"index": "workers_idx", "vector": "$e.output.vector", "k": 2}},
		map[string]any{"id": "p", "mode": "pathway_add", "inputs": map[string]any{
			"content": map[string]any{"role": "$q.output.first.role", "matches": "$s.output.ids"}, "tags": []any{"e2e"}}},
	}}, 200, &run)
	for _, n := range run.Nodes {
		if !n.Success {
			t.Fatalf("node %s (%s) %s: %s", n.ID, n.Mode, n.Status, n.Error)
		}
	}
	if !run.Success {
		t.Fatalf("run = %+v", run)
	}
	search := run.Nodes[2].Output.(map[string]any)
	if ids := fmt.Sprint(search["ids"]); !strings.HasPrefix(ids, "[1 ") {
		t.Fatalf("nearest worker to worker 1's own role = %s", ids)
	}
	trace := run.Nodes[3].Output.(map[string]any)["trace"].(map[string]any)
	var stored map[string]any
	s.JSON(t, "GET", "/v1/pathway/get/"+trace["uid"].(string), nil, 200, &stored)
	if c := stored["content"].(map[string]any); c["role"] != "forklift driver OSHA-30" {
		t.Fatalf("pathway trace content = %v", stored["content"])
	}

	// The audit rows through the observer API.
	rows := nodeRows(t, s, url.Values{"run_id": {run.ID}})
	if len(rows) != 4 {
		t.Fatalf("%d rows for the 4-node run", len(rows))
	}
	var nodes []string
	for _, r := range rows {
		nodes = append(nodes, r["node"].(string))
		if r["success"] != true || r["workflow"] != "e2e_match" || r["principal"] != "admin" {
			t.Fatalf("row = %v", r)
		}
	}
	if fmt.Sprint(nodes) != "[q e s p]" {
		t.Fatalf("rows in finishing order = %v, want dependency order", nodes)
	}

	// And through SQL: the events dataset is registered in the catalog and
	// the query module sees each new version.
	q := fmt.Sprintf("SELECT node, mode, success FROM observer_events WHERE run_id = '%s' ORDER BY id", run.ID)
	var ans apptest.SQLAnswer
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": q})
		if resp.StatusCode == 200 {
			s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": q}, 200, &ans)
			if ans.RowCount == 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit rows never readable through SQL: %d %s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := fmt.Sprint(ans.Rows); got != "[[q sql true] [e embed true] [s vector_search true] [p pathway_add true]]" {
		t.Fatalf("SQL rows = %s", got)
	}
	// The writes that set the scene are in the trail too.
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT module, count(*) AS n FROM observer_events WHERE source = 'audit' GROUP BY module ORDER BY module"}, 200, &ans)
	if got := fmt.Sprint(ans.Rows); !strings.Contains(got, "ingest") || !strings.Contains(got, "vector") {
		t.Fatalf("audit rows by module = %s", got)
	}

	// After a restart the dataset neither loses nor duplicates rows: the
	// exporter resumes after the highest id already in the dataset, and
	// re-exports what was persisted but not yet published.
	var total apptest.SQLAnswer
	count := "SELECT count(*), count(DISTINCT id), max(id) FROM observer_events"
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": count}, 200, &total)
	before := fmt.Sprint(total.Rows)
	s = s.Restart(t)
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": fmt.Sprintf("SELECT count(*) FROM observer_events WHERE run_id = '%s'", run.ID)}, 200, &ans)
	if fmt.Sprint(ans.Rows) != "[[4]]" {
		t.Fatalf("after restart the run has %v rows in SQL", ans.Rows)
	}
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": count}, 200, &total)
	after := total.Rows[0]
	if after[0] != after[1] {
		t.Fatalf("duplicate ids after restart: %v (before restart %s)", total.Rows, before)
	}
	var st observer.Stats
	s.JSON(t, "GET", "/v1/observer/stats", nil, 200, &st)
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": count}, 200, &total)
	if total.Rows[0][0] != total.Rows[0][1] || fmt.Sprint(total.Rows[0][2]) != fmt.Sprint(st.LastID) {
		t.Fatalf("after restart and flush: %v, last id %d", total.Rows, st.LastID)
	}
}
