package indexer_test

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
)

// embeddedTexts is how many texts the embedder was asked for so far
// (cache misses: a text embedded before is answered from the cache).
func embeddedTexts(t *testing.T, s *apptest.Server) int {
	t.Helper()
	_, data := s.Do(t, "GET", "/metrics", nil)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "lakehouse_embed_cache_misses_total "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	t.Fatalf("no lakehouse_embed_cache_misses_total in /metrics")
	return 0
}

func keywordHits(t *testing.T, s *apptest.Server, text string) []string {
	t.Helper()
	var wrapped struct {
		Results []hit `json:"results"`
	}
	resp, data := s.Do(t, "POST", "/v1/vectors/index/talent/search", map[string]any{"mode": "keyword", "text": text, "k": 5})
	if resp.StatusCode != 200 {
		t.Fatalf("keyword search: %d %s", resp.StatusCode, data)
	}
	var ids []string
	for _, h := range decodeHits(t, data, &wrapped) {
		ids = append(ids, h.ID)
	}
	return ids
}

// An index built with follow=true follows upserts and deletes of its
// dataset: only the rows whose text changed are embedded, deleted rows
// leave the graph and the keyword index, and no full run is needed.
func TestIndexFollowsUpsertsAndDeletes(t *testing.T) {
	s := apptest.Start(t)
	ingest(t, s, "replace", demoCandidates(""))
	var sum struct {
		Embedded int `json:"embedded"`
		Version  int `json:"version"`
	}
	s.JSON(t, "POST", "/v1/vectors/index/talent/from-dataset", map[string]any{"dataset": "candidates", "id_column": "candidate_id",
		"text_columns": []string{"skills", "summary"}, "metadata_columns": []string{"city", "status"}, "follow": true}, 200, &sum)
	if sum.Embedded != 9 {
		t.Fatalf("first run embedded %d", sum.Embedded)
	}
	before := embeddedTexts(t, s)

	// One text changed, one row sent again as it is, one new row, one row
	// whose metadata only changed (re-added, its text from the cache).
	up := "candidate_id,skills,summary,city,status\n" +
		"CAND-000007,\"dental cleaning, x-rays\",\"Dental hygienist, pediatric practice\",Chicago,inactive\n" +
		"CAND-000008,\"CNC, first article inspection, GD&T\",\"CNC machinist and operator\",Austin,active\n" +
		"CAND-000011,\"welding, TIG, MIG\",\"Certified welder for pipelines\",Austin,active\n" +
		"CAND-000009,\"customer service, Spanish, English\",\"Bilingual call center representative\",Chicago,placed\n"
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=candidates&mode=upsert&key=candidate_id", up, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 201 {
		t.Fatalf("upsert: %d %s", resp.StatusCode, data)
	}
	apptest.WaitFor(t, "the index to follow the upsert", func() bool {
		return strings.Join(keywordHits(t, s, "welder"), ",") == "CAND-000011"
	})
	if got := embeddedTexts(t, s) - before; got != 2 {
		t.Fatalf("the upsert embedded %d texts, want 2 (the changed and the new one)", got)
	}
	if h := keywordHits(t, s, "pediatric"); strings.Join(h, ",") != "CAND-000007" {
		t.Fatalf("changed text not re-indexed: %v", h)
	}
	var wrapped struct {
		Results []hit `json:"results"`
	}
	resp, data = s.Do(t, "POST", "/v1/vectors/index/talent/search", map[string]any{"mode": "keyword", "text": "bilingual", "k": 1})
	if h := decodeHits(t, data, &wrapped); resp.StatusCode != 200 || len(h) != 1 || h[0].Metadata["status"] != "placed" {
		t.Fatalf("metadata change not followed: %s", data)
	}

	// A delete removes the rows from the vectors and the keywords.
	resp, data = s.DoHeader(t, "POST", "/v1/ingest?name=candidates&mode=delete", "candidate_id\nCAND-000005\n", http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 201 {
		t.Fatalf("delete: %d %s", resp.StatusCode, data)
	}
	apptest.WaitFor(t, "the index to follow the delete", func() bool { return len(keywordHits(t, s, "kubernetes")) == 0 })
	var info struct {
		Length int `json:"length"`
	}
	s.JSON(t, "GET", "/v1/vectors/index/talent", nil, 200, &info)
	if info.Length != 9 {
		t.Fatalf("index length %d, want 9 (9 + 1 new - 1 deleted)", info.Length)
	}
	if got := embeddedTexts(t, s) - before; got != 2 {
		t.Fatalf("the delete embedded texts: %d in all", got)
	}

	// Versions committed while the server was down are caught up at start.
	s.Stop(t)
	file := filepath.Join(t.TempDir(), "late.csv")
	late := "candidate_id,skills,summary,city,status\nCAND-000012,\"roofing, shingles\",\"Roofer with ten years on commercial sites\",Chicago,active\n"
	if err := os.WriteFile(file, []byte(late), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"--data-dir", s.DataDir, "ingest", file, "--dataset", "candidates", "--mode", "upsert"}, &out, &errb); code != 0 {
		t.Fatalf("offline upsert: %d %s %s", code, out.String(), errb.String())
	}
	s2 := apptest.StartConfig(t, s.Config)
	apptest.WaitFor(t, "the index to catch up after a restart", func() bool {
		return strings.Join(keywordHits(t, s2, "roofer"), ",") == "CAND-000012"
	})
}
