package pathway

import (
	"fmt"
	"testing"
)

func TestSearch_FiltersKindTagsTimeLimit(t *testing.T) {
	s := openTest(t)
	var all []*Trace
	for i := 0; i < 10; i++ {
		kind := "note"
		if i%2 == 0 {
			kind = "event"
		}
		tags := []string{"all"}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		tr, err := s.Add(ctx, NewTrace{Content: raw(fmt.Sprintf(`{"i":%d,"text":"shift report"}`, i)), Kind: kind, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tr)
	}
	count := func(q Query) int {
		t.Helper()
		hits, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		for _, h := range hits {
			if h.Retired {
				t.Fatalf("retired hit")
			}
		}
		return len(hits)
	}
	cases := []struct {
		q    Query
		want int
	}{
		{Query{Limit: 100}, 10},
		{Query{}, DefaultSearchLimit},
		{Query{Limit: 3}, 3},
		{Query{Kind: "event", Limit: 100}, 5},
		{Query{Tags: []string{"three"}, Limit: 100}, 4},
		{Query{Tags: []string{"three", "all"}, Kind: "event", Limit: 100}, 2}, // 0, 6
		{Query{Tags: []string{"none"}}, 0},
		{Query{SinceNs: all[5].CreatedAtNs, Limit: 100}, 5},
		{Query{UntilNs: all[1].CreatedAtNs, Limit: 100}, 2},
		{Query{SinceNs: all[2].CreatedAtNs, UntilNs: all[4].CreatedAtNs, Limit: 100}, 3},
		{Query{Text: "shift", Kind: "note", Limit: 100}, 5},
		{Query{Text: "nothing-matches", Limit: 100}, 0},
	}
	for _, c := range cases {
		if got := count(c.q); got != c.want {
			t.Errorf("query %+v: %d hits, want %d", c.q, got, c.want)
		}
	}
	hits, _ := s.Search(ctx, Query{Limit: 2})
	if hits[0].UID != all[9].UID || hits[1].UID != all[8].UID {
		t.Fatalf("no text: want newest first, got %v", hitUIDs(hits))
	}
	if _, err := s.Search(ctx, Query{Limit: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
	if _, err := s.Search(ctx, Query{SinceNs: 10, UntilNs: 5}); err == nil {
		t.Fatal("inverted time range accepted")
	}
}

func TestSearch_LexicalRanking(t *testing.T) {
	s := openTest(t)
	forklift := mustAdd(t, s, `{"role":"forklift driver","cert":"OSHA-30","city":"Chicago"}`)
	mustAdd(t, s, `{"role":"electrician","notes":"industrial wiring, Chicago"}`)
	mustAdd(t, s, `{"role":"warehouse picker","notes":"night shift, forklift trained"}`)
	mustAdd(t, s, `"dental hygienist"`)
	hits, mode, err := s.SearchMode(ctx, Query{Text: "Forklift driver OSHA-30"})
	if err != nil || mode != ModeLexical {
		t.Fatalf("%v %s", err, mode)
	}
	if len(hits) != 2 || hits[0].UID != forklift.UID || hits[0].Score <= hits[1].Score {
		t.Fatalf("ranking %v", hitUIDs(hits))
	}
	// Tags and kind are searchable text too.
	k, _ := s.Add(ctx, NewTrace{Content: raw(`{}`), Kind: "placement", Tags: []string{"bilingual"}})
	hits, _ = s.Search(ctx, Query{Text: "bilingual"})
	if len(hits) != 1 || hits[0].UID != k.UID {
		t.Fatalf("tag search %v", hitUIDs(hits))
	}
}

func TestTraceText(t *testing.T) {
	tr := &Trace{Kind: "k", Tags: []string{"t1"}, Content: raw(`{"b":[1,true,"x"],"a":{"c":"deep"},"n":null}`)}
	// Keys are visited sorted; a nested object's values carry their own key.
	if got, want := traceText(tr), "k\nt1\nc: deep\nb: 1\nb: true\nb: x"; got != want {
		t.Fatalf("traceText = %q, want %q", got, want)
	}
}
