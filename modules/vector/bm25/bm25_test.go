package bm25

import (
	"slices"
	"testing"
)

func TestTokenizeKeepsCodesWholeAndSplit(t *testing.T) {
	cases := map[string][]string{
		"HVAC technician, EPA-608 certified": {"hvac", "technician", "epa-608", "epa", "608", "epa608", "certified"},
		"NCCCO crane operators":              {"nccco", "crane", "operator"},
		"AWS D1.1 welder.":                   {"aws", "d1.1", "d1", "1", "d11", "welder"},
		"C++ and C# developer":               {"c++", "c", "c#", "c", "developer"},
		"OSHA30 card; EMS, CPT":              {"osha30", "osha", "30", "card", "ems", "cpt"},
		"first_aid / CPR":                    {"first_aid", "first", "aid", "firstaid", "cpr"},
		"Glass class status analysis":        {"glass", "class", "status", "analysis"},
	}
	for in, want := range cases {
		if got := Tokenize(in); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", in, got, want)
		}
	}
	// The spellings of one code meet on their pieces and joined form.
	for _, q := range []string{"epa 608", "EPA608", "epa-608"} {
		doc := map[string]bool{}
		for _, w := range Tokenize("EPA-608 universal") {
			doc[w] = true
		}
		hit := 0
		for _, w := range Tokenize(q) {
			if doc[w] {
				hit++
			}
		}
		if hit == 0 {
			t.Errorf("query %q shares no term with EPA-608", q)
		}
	}
	long := string(make([]byte, 0))
	for i := 0; i < 200; i++ {
		long += "x"
	}
	if got := Tokenize(long); len(got) != 1 || len(got[0]) != MaxTokenBytes {
		t.Errorf("a %d-byte word gave %q", len(long), got)
	}
}

func TestSearchRanksAndFilters(t *testing.T) {
	x := New()
	docs := []string{
		"crane operator NCCCO certified",
		"crane operator, forklift",
		"phlebotomist CPT",
		"HVAC technician EPA-608 universal",
		"HVAC technician",
	}
	for i, d := range docs {
		x.Add(uint32(i), Tokenize(d))
	}
	hits := x.Search(QueryTerms("crane operator NCCCO"), 3, nil)
	if len(hits) != 2 || hits[0].Node != 0 || hits[1].Node != 1 {
		t.Fatalf("hits = %+v", hits)
	}
	if !slices.Equal(hits[0].Matched, []string{"crane", "operator", "nccco"}) {
		t.Errorf("matched = %q", hits[0].Matched)
	}
	// Filter before ranking: node 0 excluded, node 1 still comes back.
	hits = x.Search(QueryTerms("crane operator NCCCO"), 1, func(n uint32) bool { return n != 0 })
	if len(hits) != 1 || hits[0].Node != 1 {
		t.Fatalf("filtered hits = %+v", hits)
	}
	hits = x.Search(QueryTerms("HVAC EPA 608"), 5, nil)
	if len(hits) != 2 || hits[0].Node != 3 {
		t.Fatalf("code hits = %+v", hits)
	}
	if s, m := x.Score(QueryTerms("HVAC EPA 608"), 3); s != hits[0].Score || len(m) != 3 {
		t.Errorf("Score = %v %q, search said %v", s, m, hits[0].Score)
	}
	// Remove: gone from results and from document frequencies.
	x.Remove(3, Tokenize(docs[3]))
	if hits = x.Search(QueryTerms("EPA-608"), 5, nil); len(hits) != 0 {
		t.Fatalf("removed doc still found: %+v", hits)
	}
	if x.Docs() != 4 || x.df["hvac"] != 1 {
		t.Errorf("docs %d, df(hvac) %d", x.Docs(), x.df["hvac"])
	}
	// Re-adding a node replaces its document.
	x.Add(4, Tokenize("welder"))
	if hits = x.Search(QueryTerms("hvac"), 5, nil); len(hits) != 0 {
		t.Fatalf("replaced doc still found: %+v", hits)
	}
}

func TestSweepDropsDeadPostings(t *testing.T) {
	x := New()
	for i := 0; i < 3000; i++ {
		x.Add(uint32(i), Tokenize("common word"))
	}
	for i := 0; i < 2500; i++ {
		x.Remove(uint32(i), Tokenize("common word"))
	}
	if n := len(x.post["common"]); n >= 3000 {
		t.Errorf("postings not swept: %d", n)
	}
	if hits := x.Search([]string{"common"}, 10000, nil); len(hits) != 500 {
		t.Errorf("%d hits, want 500", len(hits))
	}
}
