package indexer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
	"lakehouse/modules/indexer"
)

// demoCandidates is a small staffing dataset: a few forklift operators
// among nurses, developers and electricians in two cities.
func demoCandidates(extra string) string {
	var b strings.Builder
	b.WriteString("candidate_id,skills,summary,city,status\n")
	rows := [][4]string{
		{"forklift, pallet jack, OSHA-30 certified", "Warehouse forklift operator, 6 years, night shift", "Chicago", "active"},
		{"forklift operation, inventory, RF scanner", "Material handler and forklift driver with OSHA certification", "Austin", "active"},
		{"reach truck, order picker, OSHA-10", "Forklift operator in a distribution center", "Chicago", "placed"},
		{"patient care, BLS, ACLS, ICU", "Registered nurse with ICU experience", "Chicago", "active"},
		{"Java, Spring, Kubernetes", "Backend Java developer, 8 years", "Chicago", "active"},
		{"industrial wiring, conduit, PLC", "Journeyman electrician for plants", "Austin", "active"},
		{"dental cleaning, x-rays", "Dental hygienist", "Chicago", "inactive"},
		{"CNC, first article inspection, GD&T", "CNC machinist and operator", "Austin", "active"},
		{"customer service, Spanish, English", "Bilingual call center representative", "Chicago", "active"},
		{"", "", "Chicago", "active"}, // no text: skipped
	}
	for i, r := range rows {
		fmt.Fprintf(&b, "CAND-%06d,%q,%q,%s,%s\n", i+1, r[0], r[1], r[2], r[3])
	}
	b.WriteString(extra)
	return b.String()
}

func ingest(t *testing.T, s *apptest.Server, mode, csv string) {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=candidates&mode="+mode, csv, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, data)
	}
}

// runCLI runs `lakehouse index ...` in-process against the test server.
func runCLI(t *testing.T, s *apptest.Server, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("AUTH_TOKEN", s.Token)
	t.Chdir(t.TempDir()) // no stray lakehouse.toml
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"index", "--server", s.URL}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

type hit struct {
	ID       string         `json:"id"`
	Score    float32        `json:"score"`
	Metadata map[string]any `json:"metadata"`
}

// TestIndexDatasetFromCLIAndSearchWithFilter is the e2e: a demo
// dataset ingested over HTTP, indexed from the CLI with a progress bar,
// searched by meaning with a metadata filter; a re-run embeds only what
// changed.
func TestIndexDatasetFromCLIAndSearchWithFilter(t *testing.T) {
	s := apptest.Start(t)
	ingest(t, s, "replace", demoCandidates(""))

	out, errOut, code := runCLI(t, s, "talent", "--dataset", "candidates", "--id", "candidate_id",
		"--text", "skills,summary", "--meta", "city,status", "--batch", "4")
	if code != 0 {
		t.Fatalf("index exit %d: %s %s", code, out, errOut)
	}
	// Not a terminal: the progress comes as plain lines, the last one
	// at 100%.
	if !strings.Contains(errOut, "indexing 100% 10/10") || !strings.Contains(errOut, "rows/s") {
		t.Fatalf("no finished progress line on stderr: %q", errOut)
	}
	if !strings.Contains(out, "10 rows, 9 embedded, 0 unchanged, 1 empty") {
		t.Fatalf("summary: %q", out)
	}

	// The index records the model it was built with.
	var info struct {
		Model     string `json:"model"`
		Dimension int    `json:"dimension"`
		Length    int    `json:"length"`
	}
	s.JSON(t, "GET", "/v1/vectors/index/talent", nil, 200, &info)
	if info.Model != "use-lite-512" || info.Dimension != 512 || info.Length != 9 {
		t.Fatalf("index info %+v", info)
	}

	// Meaning + filter: forklift operators in Chicago only.
	var emb struct{ Vectors [][]float32 }
	s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift operator with OSHA certification"}, "purpose": "query"}, 200, &emb)
	var hits []hit
	searchBody := map[string]any{"vector": emb.Vectors[0], "k": 2, "filter": map[string]any{"city": "Chicago"}}
	var wrapped struct {
		Results []hit `json:"results"`
	}
	resp, data := s.Do(t, "POST", "/v1/vectors/index/talent/search", searchBody)
	if resp.StatusCode != 200 {
		t.Fatalf("search: %d %s", resp.StatusCode, data)
	}
	hits = decodeHits(t, data, &wrapped)
	if len(hits) != 2 {
		t.Fatalf("hits %+v", hits)
	}
	for _, h := range hits {
		if h.Metadata["city"] != "Chicago" {
			t.Fatalf("filter ignored: %+v", h)
		}
	}
	ids := []string{hits[0].ID, hits[1].ID}
	if !contains(ids, "CAND-000001") || !contains(ids, "CAND-000003") {
		t.Fatalf("the two Chicago forklift operators should rank first, got %v", ids)
	}
	// The same with text in place of the vector (the vector module embeds
	// with the index's model).
	resp, data = s.Do(t, "POST", "/v1/vectors/index/talent/search", map[string]any{
		"text": "forklift operator with OSHA certification", "k": 1, "filter": map[string]any{"city": "Austin"}})
	if resp.StatusCode != 200 {
		t.Fatalf("text search: %d %s", resp.StatusCode, data)
	}
	if h := decodeHits(t, data, &wrapped); len(h) != 1 || h[0].ID != "CAND-000002" {
		t.Fatalf("Austin forklift driver expected, got %+v", h)
	}

	// The embedded text is kept: keyword search finds the code it holds,
	// and the index reports its keyword side.
	resp, data = s.Do(t, "POST", "/v1/vectors/index/talent/search", map[string]any{
		"mode": "keyword", "text": "kubernetes", "k": 3})
	if resp.StatusCode != 200 {
		t.Fatalf("keyword search: %d %s", resp.StatusCode, data)
	}
	if h := decodeHits(t, data, &wrapped); len(h) != 1 || h[0].ID != "CAND-000005" {
		t.Fatalf("keyword search for kubernetes: %+v", h)
	}
	var kw struct {
		KeywordDocs int `json:"keyword_docs"`
	}
	s.JSON(t, "GET", "/v1/vectors/index/talent", nil, 200, &kw)
	if kw.KeywordDocs != 9 {
		t.Fatalf("keyword_docs %d, want 9", kw.KeywordDocs)
	}

	// Re-run after a new version: one row changed, one added, one removed.
	csv := demoCandidates("CAND-000011,\"forklift, OSHA-30\",\"Forklift operator, weekends\",Chicago,active\n")
	csv = strings.Replace(csv, "Dental hygienist", "Dental hygienist, 3 years", 1)
	csv = strings.Replace(csv, "CAND-000005,\"Java, Spring, Kubernetes\",\"Backend Java developer, 8 years\",Chicago,active\n", "", 1)
	ingest(t, s, "replace", csv)
	out, errOut, code = runCLI(t, s, "talent", "--dataset", "candidates", "--id", "candidate_id",
		"--text", "skills,summary", "--meta", "city,status", "--quiet")
	if code != 0 || !strings.Contains(out, "10 rows, 2 embedded, 7 unchanged, 1 empty, 1 removed") {
		t.Fatalf("re-run exit %d: %q %q", code, out, errOut)
	}
	s.JSON(t, "GET", "/v1/vectors/index/talent", nil, 200, &info)
	if info.Length != 9 {
		t.Fatalf("length after re-run %d, want 9", info.Length)
	}
	// The state that makes re-runs incremental is on disk.
	if _, err := os.Stat(filepath.Join(s.DataDir, "embed", "pipelines", "talent.json")); err != nil {
		t.Fatal(err)
	}
}

func TestFromDatasetErrors(t *testing.T) {
	s := apptest.Start(t)
	ingest(t, s, "replace", demoCandidates(""))
	path := "/v1/vectors/index/talent/from-dataset"
	s.Fail(t, "POST", path, map[string]any{"dataset": "candidates"}, 400)
	s.Fail(t, "POST", path, map[string]any{"dataset": "nobody", "id_column": "id", "text_columns": []string{"x"}}, 404)
	e := s.Fail(t, "POST", path, map[string]any{"dataset": "candidates", "id_column": "candidate_id", "text_columns": []string{"resume"}}, 400)
	if !strings.Contains(e.Error.Message, `"resume"`) {
		t.Fatalf("message should name the column: %q", e.Error.Message)
	}
	s.Fail(t, "POST", path, map[string]any{"dataset": "candidates", "id_column": "candidate_id", "text_columns": []string{"skills"}, "batch_size": 99999}, 400)
	// An index built for another dimension: 400 naming both.
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "small", "dimension": 3}, 201, nil)
	e = s.Fail(t, "POST", "/v1/vectors/index/small/from-dataset", map[string]any{"dataset": "candidates", "id_column": "candidate_id", "text_columns": []string{"skills"}}, 400)
	if !strings.Contains(e.Error.Message, "dimension 3") || !strings.Contains(e.Error.Message, "dimension 512") {
		t.Fatalf("message %q", e.Error.Message)
	}
	// Non-streaming answer: the summary as JSON.
	var sum indexer.FromDatasetSummary
	s.JSON(t, "POST", path, map[string]any{"dataset": "candidates", "id_column": "candidate_id", "text_columns": []string{"skills", "summary"}}, 200, &sum)
	if sum.Embedded != 9 || sum.Empty != 1 || !sum.CreatedIndex || sum.Model != "use-lite-512" {
		t.Fatalf("summary %+v", sum)
	}
	// CLI against an unknown dataset: non-zero exit with the server's message.
	out, errOut, code := runCLI(t, s, "talent", "--dataset", "nobody", "--id", "candidate_id", "--text", "skills")
	if code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("exit %d %q %q", code, out, errOut)
	}
}

func decodeHits(t *testing.T, data []byte, wrapped *struct {
	Results []hit `json:"results"`
}) []hit {
	t.Helper()
	var direct []hit
	if err := jsonUnmarshal(data, &direct); err == nil {
		return direct
	}
	if err := jsonUnmarshal(data, wrapped); err != nil {
		t.Fatalf("search answer %s: %v", data, err)
	}
	return wrapped.Results
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

var jsonUnmarshal = json.Unmarshal

// TestNumericIDsPaginate: integer ids page correctly by keyset (the last
// id of a page is the next page's bound), across several small pages.
func TestNumericIDsPaginate(t *testing.T) {
	s := apptest.Start(t)
	var b strings.Builder
	b.WriteString("id,title,level\n")
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "%d,job title number %d,%d\n", i*1000, i, i%3)
	}
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=jobs", b.String(), http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, data)
	}
	var sum indexer.FromDatasetSummary
	s.JSON(t, "POST", "/v1/vectors/index/jobs/from-dataset", map[string]any{"dataset": "jobs", "id_column": "id",
		"text_columns": []string{"title"}, "metadata_columns": []string{"level"}, "batch_size": 3}, 200, &sum)
	if sum.Processed != 11 || sum.Embedded != 11 {
		t.Fatalf("summary %+v", sum)
	}
	var got struct {
		Results []hit `json:"results"`
	}
	s.JSON(t, "POST", "/v1/vectors/index/jobs/search", map[string]any{"text": "job title number 7", "k": 11,
		"filter": map[string]any{"level": map[string]any{"$gte": 2}}}, 200, &got)
	// level = i%3, so level ≥ 2 holds for ids 2000, 5000, 8000 and 11000.
	if len(got.Results) != 4 {
		t.Fatalf("filtered results %+v", got.Results)
	}
	for _, h := range got.Results {
		if lv, _ := h.Metadata["level"].(float64); lv < 2 {
			t.Fatalf("filter $gte ignored: %+v", h)
		}
	}
}

// TestRerunGivesAnOldIndexItsKeywordSide: an index filled before items
// kept their text (vectors only) gets every row re-added, text included,
// on the next from-dataset run, though no row changed.
func TestRerunGivesAnOldIndexItsKeywordSide(t *testing.T) {
	s := apptest.Start(t)
	ingest(t, s, "replace", demoCandidates(""))
	args := []string{"talent", "--dataset", "candidates", "--id", "candidate_id", "--text", "skills,summary", "--meta", "city,status", "--quiet"}
	if out, errOut, code := runCLI(t, s, args...); code != 0 {
		t.Fatalf("index exit %d: %s %s", code, out, errOut)
	}
	// Replace the index by one holding the same ids as vectors only, as
	// an older lakehouse left it (the run's state stays on disk).
	s.Do(t, "DELETE", "/v1/vectors/index/talent", nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "talent", "dimension": 512, "model": "use-lite-512"}, 201, nil)
	var items []map[string]any
	for i := 1; i <= 10; i++ {
		if i == 6 {
			continue // no text: never indexed
		}
		v := make([]float32, 512)
		v[i] = 1
		items = append(items, map[string]any{"id": fmt.Sprintf("CAND-%06d", i), "vector": v})
	}
	s.JSON(t, "POST", "/v1/vectors/index/talent/add", map[string]any{"items": items}, 200, nil)
	out, errOut, code := runCLI(t, s, args...)
	if code != 0 || !strings.Contains(out, "9 embedded, 0 unchanged") {
		t.Fatalf("re-run exit %d: %q %q", code, out, errOut)
	}
	var wrapped struct {
		Results []hit `json:"results"`
	}
	resp, data := s.Do(t, "POST", "/v1/vectors/index/talent/search", map[string]any{"mode": "keyword", "text": "kubernetes"})
	if h := decodeHits(t, data, &wrapped); resp.StatusCode != 200 || len(h) != 1 || h[0].ID != "CAND-000005" {
		t.Fatalf("keyword search after the re-run: %d %s", resp.StatusCode, data)
	}
}
