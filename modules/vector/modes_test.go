package vector

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"lakehouse/modules/vector/bm25"
)

func ids(res []Result) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.ID
	}
	return out
}

func kwSearch(t *testing.T, s *service, name, text string, k int, f map[string]any) []string {
	t.Helper()
	res, err := s.Search(ctxb(), name, SearchRequest{Mode: ModeKeyword, Text: text, K: k, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	return ids(res)
}

// TestKeywordIndexFollowsItems: text given on add is indexed; upserts,
// deletes, restarts (WAL replay), compaction (snapshot) and a rebuild
// keep the keyword side equal to the items.
func TestKeywordIndexFollowsItems(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "kw", Dim: 3})
	add := func(items ...Item) {
		t.Helper()
		if err := s.Add(ctxb(), "kw", items); err != nil {
			t.Fatal(err)
		}
	}
	add(Item{ID: "a", Vector: []float32{1, 0, 0}, Text: "crane operator NCCCO", Metadata: map[string]any{"city": "chicago"}},
		Item{ID: "b", Vector: []float32{0, 1, 0}, Text: "HVAC technician EPA-608"},
		Item{ID: "c", Vector: []float32{0, 0, 1}, Text: "phlebotomist CPT"},
		Item{ID: "d", Vector: []float32{1, 1, 0}}) // no text: vector only
	check := func(s *service, when string) {
		t.Helper()
		if got := kwSearch(t, s, "kw", "NCCCO crane", 10, nil); !slices.Equal(got, []string{"a"}) {
			t.Errorf("%s: NCCCO → %v", when, got)
		}
		if got := kwSearch(t, s, "kw", "epa 608", 10, nil); !slices.Equal(got, []string{"b"}) {
			t.Errorf("%s: epa 608 → %v", when, got)
		}
		if info, _ := s.Info(ctxb(), "kw"); info.KeywordDocs != 3 {
			t.Errorf("%s: keyword_docs %d, want 3", when, info.KeywordDocs)
		}
	}
	check(s, "fresh")

	// Same vector, no text: metadata changes, text kept.
	add(Item{ID: "a", Vector: []float32{1, 0, 0}, Metadata: map[string]any{"city": "austin"}})
	// Same vector, new text: text replaced.
	add(Item{ID: "c", Vector: []float32{0, 0, 1}, Text: "phlebotomist CPT, NHA certified"})
	if got := kwSearch(t, s, "kw", "NHA", 10, nil); !slices.Equal(got, []string{"c"}) {
		t.Errorf("replaced text: NHA → %v", got)
	}
	// New vector without text: the text went with the old vector.
	add(Item{ID: "e", Vector: []float32{0, 1, 1}, Text: "welder AWS D1.1"})
	add(Item{ID: "e", Vector: []float32{0, 1, 2}})
	if got := kwSearch(t, s, "kw", "D1.1", 10, nil); len(got) != 0 {
		t.Errorf("text of a replaced vector still found: %v", got)
	}
	// A repeated id in one batch: the later item without text and the
	// same vector keeps the earlier text.
	add(Item{ID: "f", Vector: []float32{2, 1, 0}, Text: "forklift OSHA-30"}, Item{ID: "f", Vector: []float32{2, 1, 0}, Metadata: map[string]any{"x": 1.0}})
	if err := s.Delete(ctxb(), "kw", []string{"f"}); err != nil {
		t.Fatal(err)
	}
	if got := kwSearch(t, s, "kw", "forklift", 10, nil); len(got) != 0 {
		t.Errorf("deleted item found: %v", got)
	}
	check(s, "after upserts")

	s2 := reopen(t, s) // WAL replay
	check(s2, "after WAL replay")
	ix, _ := s2.get("kw")
	if err := s2.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	s3 := reopen(t, s2) // snapshot (v2, with text)
	check(s3, "after snapshot")
	if got := kwSearch(t, s3, "kw", "austin NCCCO", 10, map[string]any{"city": "austin"}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("filtered keyword search after snapshot: %v", got)
	}
	// A rebuild (compaction of tombstones) carries the texts over.
	ix3, _ := s3.get("kw")
	c, err := ix3.rebuilt()
	if err != nil {
		t.Fatal(err)
	}
	ix3.mu.Lock()
	ix3.g, ix3.ids, ix3.meta, ix3.texts, ix3.kw, ix3.byID = c.g, c.ids, c.meta, c.texts, c.kw, c.byID
	ix3.mu.Unlock()
	check(s3, "after rebuild")
}

// TestOldIndexWithoutTextKeepsWorking: WAL segments and snapshots written
// without text (format version 1) load; keyword search finds nothing,
// vector search everything; text added afterwards is searchable.
func TestOldIndexWithoutTextKeepsWorking(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "old", Dim: 2})
	if err := s.Add(ctxb(), "old", []Item{{ID: "a", Vector: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	data, _ := encodeSegment(segment{op: opAdd, items: []Item{{ID: "x", Vector: []float32{1, 1}}}}, 2)
	if data[4] != walVersion {
		t.Fatalf("a batch without text must be written as version %d, got %d", walVersion, data[4])
	}
	ix, _ := s.get("old")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	rc, _, _ := s.store.Get(ctxb(), snapKey("old"))
	head := make([]byte, 8)
	_, _ = rc.Read(head)
	rc.Close()
	if head[4] != snapVersion {
		t.Fatalf("a snapshot without text must be version %d, got %d", snapVersion, head[4])
	}
	s2 := reopen(t, s)
	if got := kwSearch(t, s2, "old", "anything", 5, nil); len(got) != 0 {
		t.Fatalf("keyword hits on an index without text: %v", got)
	}
	if err := s2.Add(ctxb(), "old", []Item{{ID: "b", Vector: []float32{0, 1}, Text: "new text"}}); err != nil {
		t.Fatal(err)
	}
	if got := kwSearch(t, reopen(t, s2), "old", "text", 5, nil); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("text added to an old index: %v", got)
	}
}

// modeFixture: four items whose vector and keyword rankings for the query
// disagree, so that fusion has something to do.
func modeFixture(t *testing.T) *service {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "m", Dim: 2})
	items := []Item{
		// Nearest to the query vector, no keyword.
		{ID: "vec-only", Vector: []float32{1, 0.01}, Text: "truck driver", Metadata: map[string]any{"city": "chicago", "role": "driver"}},
		// Best keyword match, far vector.
		{ID: "kw-only", Vector: []float32{-1, 0.2}, Text: "crane operator NCCCO", Metadata: map[string]any{"city": "austin", "role": "operator"}},
		// Second on both sides: fusion should put it first.
		{ID: "both", Vector: []float32{1, 0.3}, Text: "crane operator NCCCO, lead of a rigging crew", Metadata: map[string]any{"city": "chicago", "role": "operator"}},
		{ID: "neither", Vector: []float32{-1, -1}, Text: "phlebotomist", Metadata: map[string]any{"city": "austin", "role": "phlebotomist"}},
	}
	if err := s.Add(ctxb(), "m", items); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSearchModes(t *testing.T) {
	s := modeFixture(t)
	q := []float32{1, 0}
	res, err := s.Search(ctxb(), "m", SearchRequest{Vector: q, K: 4})
	if err != nil || !slices.Equal(ids(res), []string{"vec-only", "both", "neither", "kw-only"}) {
		t.Fatalf("vector (default) mode: %v %v", ids(res), err)
	}
	res, err = s.Search(ctxb(), "m", SearchRequest{Mode: ModeKeyword, Text: "crane operator NCCCO", K: 4, Explain: true})
	if err != nil || !slices.Equal(ids(res), []string{"kw-only", "both"}) {
		t.Fatalf("keyword mode: %v %v", ids(res), err)
	}
	if e := res[0].Explain; e == nil || e.KeywordRank != 1 || e.KeywordScore == nil || *e.KeywordScore <= 0 ||
		!slices.Equal(e.MatchedTerms, []string{"crane", "operator", "nccco"}) || e.VectorDistance != nil || !res[0].noDistance {
		t.Fatalf("keyword explain: %+v", res[0].Explain)
	}
	res, err = s.Search(ctxb(), "m", SearchRequest{Mode: ModeHybrid, Vector: q, Text: "crane operator NCCCO", K: 3, Explain: true})
	if err != nil || !slices.Equal(ids(res), []string{"both", "kw-only", "vec-only"}) {
		t.Fatalf("hybrid mode: %v %v", ids(res), err)
	}
	e := res[0].Explain
	if e.VectorRank != 2 || e.KeywordRank != 2 || e.Fused == nil || math.Abs(*e.Fused-2.0/62) > 1e-9 ||
		len(e.MatchedTerms) != 3 || e.VectorDistance == nil || *e.VectorDistance != res[0].Distance {
		t.Fatalf("hybrid explain of %q: %+v", res[0].ID, e)
	}
	if e := res[1].Explain; e.VectorRank != 4 || e.KeywordRank != 1 || math.Abs(*e.Fused-(1.0/64+1.0/61)) > 1e-9 {
		t.Fatalf("hybrid explain of %q: %+v", res[1].ID, e)
	}
	// vec-only is not among the keyword candidates: no keyword rank, and
	// its (zero) keyword score is not claimed.
	if e := res[2].Explain; e.KeywordRank != 0 || e.KeywordScore != nil || e.VectorRank != 1 {
		t.Fatalf("hybrid explain of %q: %+v", res[2].ID, e)
	}
	// Keyword mode given a vector reports true distances.
	res, err = s.Search(ctxb(), "m", SearchRequest{Mode: ModeKeyword, Vector: q, Text: "crane", K: 2, Explain: true})
	if err != nil || res[0].ID != "kw-only" || res[0].noDistance || res[0].Distance < 1.9 || res[1].Distance > 0.1 ||
		*res[0].Explain.VectorDistance != res[0].Distance {
		t.Fatalf("keyword mode with a vector: %+v %v", res, err)
	}
	// Weights: keyword only → keyword order.
	zero := 0.0
	res, err = s.Search(ctxb(), "m", SearchRequest{Mode: ModeHybrid, Vector: q, Text: "crane operator NCCCO", K: 2,
		Weights: &Weights{Vector: &zero}})
	if err != nil || !slices.Equal(ids(res), []string{"kw-only", "both"}) {
		t.Fatalf("hybrid, vector weight 0: %v %v", ids(res), err)
	}
	res, err = s.Search(ctxb(), "m", SearchRequest{Mode: ModeHybrid, Vector: q, Text: "crane operator NCCCO", K: 2,
		Weights: &Weights{Keyword: &zero}})
	if err != nil || !slices.Equal(ids(res), []string{"vec-only", "both"}) {
		t.Fatalf("hybrid, keyword weight 0 (vector order, codes not preferred): %v %v", ids(res), err)
	}
	// Filters apply to every mode before ranking.
	f := map[string]any{"city": "chicago"}
	for _, mode := range []string{ModeVector, ModeKeyword, ModeHybrid} {
		res, err := s.Search(ctxb(), "m", SearchRequest{Mode: mode, Vector: q, Text: "crane operator NCCCO", K: 4, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Metadata["city"] != "chicago" {
				t.Errorf("%s: %s passed the filter", mode, r.ID)
			}
		}
		if len(res) == 0 || (mode != ModeVector && res[0].ID != "both") {
			t.Errorf("%s filtered: %v", mode, ids(res))
		}
	}
}

func TestSearchModeErrors(t *testing.T) {
	s := modeFixture(t)
	q := []float32{1, 0}
	neg := -1.0
	zero := 0.0
	for name, req := range map[string]SearchRequest{
		"unknown mode":                      {Mode: "semantic", Vector: q},
		"keyword without text":              {Mode: ModeKeyword, Vector: q},
		"hybrid without text":               {Mode: ModeHybrid, Vector: q},
		"hybrid without vector or embedder": {Mode: ModeHybrid, Text: "crane"},
		"negative rrf_k":                    {Mode: ModeHybrid, Vector: q, Text: "crane", RRFK: -1},
		"negative weight":                   {Mode: ModeHybrid, Vector: q, Text: "crane", Weights: &Weights{Keyword: &neg}},
		"zero weights":                      {Mode: ModeHybrid, Vector: q, Text: "crane", Weights: &Weights{Keyword: &zero, Vector: &zero}},
		"candidates over max_k":             {Mode: ModeHybrid, Vector: q, Text: "crane", Candidates: 1 << 30},
		"empty facet":                       {Vector: q, Facets: []string{""}},
	} {
		_, err := s.Search(ctxb(), "m", req)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	_, err := s.Search(ctxb(), "m", SearchRequest{Mode: "semantic", Vector: q})
	if err == nil || !strings.Contains(err.Error(), `"semantic"`) || !strings.Contains(err.Error(), "hybrid") {
		t.Errorf("unknown mode message: %v", err)
	}
}

func TestFacets(t *testing.T) {
	s := modeFixture(t)
	resp, err := s.Query(ctxb(), "m", SearchRequest{Vector: []float32{1, 0}, K: 1, Facets: []string{"city", "role", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]FacetCount{
		"city":    {{"austin", 2}, {"chicago", 2}},
		"role":    {{"operator", 2}, {"driver", 1}, {"phlebotomist", 1}},
		"missing": {},
	}
	if fmt.Sprint(resp.Facets) != fmt.Sprint(want) {
		t.Fatalf("facets = %v, want %v", resp.Facets, want)
	}
	// Over the filtered matches; keyword mode: only items holding a term.
	resp, err = s.Query(ctxb(), "m", SearchRequest{Mode: ModeKeyword, Text: "crane", K: 1, Facets: []string{"city"},
		Filter: map[string]any{"role": "operator"}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(resp.Facets["city"]) != fmt.Sprint([]FacetCount{{"austin", 1}, {"chicago", 1}}) {
		t.Fatalf("keyword facets = %v", resp.Facets)
	}
	resp, _ = s.Query(ctxb(), "m", SearchRequest{Vector: []float32{1, 0}, Facets: []string{"role"}, Filter: map[string]any{"city": "austin"}})
	if fmt.Sprint(resp.Facets["role"]) != fmt.Sprint([]FacetCount{{"operator", 1}, {"phlebotomist", 1}}) {
		t.Fatalf("filtered facets = %v", resp.Facets)
	}
}

// TestHybridTextEmbedsAndTokenizes: one "text" serves both sides.
func TestHybridTextEmbedsAndTokenizes(t *testing.T) {
	emb := &fakeEmbedder{model: "fake", dim: 8}
	s := newTestService(t, nil, emb)
	mustCreate(t, s, IndexSpec{Name: "t", Dim: 8})
	if err := s.Add(ctxb(), "t", []Item{{ID: "1", Text: "crane operator NCCCO"}, {ID: "2", Text: "truck driver CDL"}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctxb(), "t", SearchRequest{Mode: ModeHybrid, Text: "CDL truck driver", K: 2, Explain: true})
	if err != nil || res[0].ID != "2" || res[0].Explain.VectorRank == 0 || res[0].Explain.KeywordRank != 1 {
		t.Fatalf("hybrid by text: %+v %v", res, err)
	}
	if got := bm25.QueryTerms("CDL truck driver"); len(got) != 3 {
		t.Fatalf("terms %v", got)
	}
}

// TestHybridRanksCodeHoldersFirst: a query's codes (NCCCO, EPA-608) are
// what a recruiter means and what an encoder blurs: a hybrid candidate
// holding them ranks above one that does not, however near its vector.
func TestHybridRanksCodeHoldersFirst(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "c", Dim: 2})
	if err := s.Add(ctxb(), "c", []Item{
		{ID: "role-only", Vector: []float32{1, 0}, Text: "heating technician, heating service"},
		{ID: "spelled", Vector: []float32{0.2, 1}, Text: "refrigeration mechanic, EPA 608 universal"},
		{ID: "other", Vector: []float32{0.9, 0.1}, Text: "heating helper"},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctxb(), "c", SearchRequest{Mode: ModeHybrid, Vector: []float32{1, 0}, Text: "heating technician EPA-608", K: 3, Explain: true})
	if err != nil || res[0].ID != "spelled" || res[0].Explain.CodesMatched != 1 || res[1].Explain.CodesMatched != 0 {
		t.Fatalf("hybrid: %v %v", ids(res), err)
	}
	if got := bm25.CodeTerms("HVAC technician EPA-608 d1.1 welder"); fmt.Sprint(got) != "[[hvac] [epa-608 epa 608 epa608] [d1.1 d1 1 d11]]" {
		t.Fatalf("CodeTerms = %v", got)
	}
}
