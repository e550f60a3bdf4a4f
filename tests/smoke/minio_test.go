package smoke

import (
	"fmt"
	"strings"
	"testing"

	"lakehouse/modules/storage/storagetest"
)

// TestSQLOverMinIO: with storage on a real MinIO bucket, two ingested
// datasets join in SQL with the exact answer; their parts are objects in
// the bucket; a read-only guard and unknown tables answer 400; then a new
// node with an empty data dir over the same bucket rehydrates the catalog
// from the bucket alone (same ids, versions, row counts) and answers the
// same SQL.
func TestSQLOverMinIO(t *testing.T) {
	t.Parallel()
	Binary(t)
	s3 := storagetest.StartMinIO(t)
	a := newNode(t, &s3).start(t)

	var cands, places manifest
	a.Call(t, "POST", "/v1/ingest?name=candidates", csvBody(
		"candidate_id,name,city\nCAND-000001,Ann,Chicago\nCAND-000002,Bo,Chicago\nCAND-000003,Cy,Gary\nCAND-000004,Di,Joliet\n"), 201, &cands)
	a.Call(t, "POST", "/v1/ingest?name=placements", csvBody(
		"candidate_id,client,bill_rate\nCAND-000001,Acme,40\nCAND-000001,Initech,42.5\nCAND-000003,Acme,30\n"), 201, &places)
	const join = `SELECT c.city, count(p.candidate_id) AS placed, coalesce(sum(p.bill_rate), 0) AS billed
		FROM candidates c LEFT JOIN placements p USING (candidate_id) GROUP BY c.city ORDER BY c.city`
	const want = "[[Chicago 2 82.5] [Gary 1 30] [Joliet 0 0]]"
	if got := fmt.Sprint(a.SQL(t, join)); got != want {
		t.Fatalf("join over MinIO: %s, want %s", got, want)
	}
	var list struct {
		Objects []struct {
			Key string `json:"key"`
		} `json:"objects"`
	}
	a.Call(t, "GET", "/v1/storage/list?prefix=datasets/candidates/", nil, 200, &list)
	found := false
	for _, o := range list.Objects {
		found = found || o.Key == cands.Files[0].Key
	}
	if !found {
		t.Fatalf("part %s not in the bucket listing %+v", cands.Files[0].Key, list.Objects)
	}
	a.Fail(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT * FROM no_such_table"}, 400, "")
	for _, q := range []string{"DROP VIEW candidates", "INSERT INTO candidates VALUES ('x','y','z')", "ATTACH ':memory:' AS scratch"} {
		r, err := a.Do("POST", "/v1/sql", map[string]any{"sql": q})
		if err != nil || r.Status/100 != 4 {
			t.Fatalf("%q must be refused: %v %v", q, err, r)
		}
	}
	catalog := func(s *server) string {
		var l struct {
			Datasets []manifest `json:"datasets"`
		}
		s.Call(t, "GET", "/v1/catalog/list", nil, 200, &l)
		var b strings.Builder
		for _, d := range userDatasets(l.Datasets) {
			fmt.Fprintf(&b, "%s %s v%d %d rows %v; ", d.Name, d.DatasetID, d.Version, d.RowCount, d.ObjectKeys)
		}
		return b.String()
	}
	before := catalog(a)
	if !strings.Contains(before, "candidates "+datasetID("candidates")+" v1 4 rows") ||
		!strings.Contains(before, "placements "+datasetID("placements")+" v1 3 rows") {
		t.Fatalf("catalog: %s", before)
	}
	a.stop(t)

	b := newNode(t, &s3).start(t)
	if got := catalog(b); got != before {
		t.Fatalf("a new node over the same bucket:\n got %s\nwant %s", got, before)
	}
	if got := fmt.Sprint(b.SQL(t, join)); got != want {
		t.Fatalf("join on the new node: %s, want %s", got, want)
	}
}
