package observer

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func ids(evs []Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestRingEvictsOldestFirstAndAcceptsWhenFull(t *testing.T) {
	o := NewObserver(3, 0, nil)
	for i := range 5 {
		ev := o.Record(Event{Endpoint: fmt.Sprint("op", i), Success: i%2 == 0})
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d got id %d", i, ev.ID)
		}
	}
	got := o.Events(Filter{})
	if fmt.Sprint(ids(got)) != "[3 4 5]" {
		t.Fatalf("ring after 5 adds into 3 slots = %v, want [3 4 5] (oldest evicted first)", ids(got))
	}
	if got[0].Endpoint != "op2" || got[2].Endpoint != "op4" {
		t.Fatalf("ring holds the wrong events: %+v", got)
	}
	st := o.Stats()
	if st.Evicted != 2 || st.Total != 5 || st.Successes != 3 || st.Failures != 2 || st.BySource[SourceMCP] != 5 {
		t.Fatalf("stats = %+v", st)
	}
	if st.RingLen != 3 || st.RingSize != 3 || st.LastID != 5 {
		t.Fatalf("ring fill = %d/%d last %d", st.RingLen, st.RingSize, st.LastID)
	}
}

func TestRingByteBoundKeepsNewest(t *testing.T) {
	o := NewObserver(100, 1200, nil)
	big := strings.Repeat("x", 400)
	for range 4 {
		o.Record(Event{Endpoint: "e", Fields: map[string]any{"blob": big}})
	}
	st := o.Stats()
	if st.RingBytes > 1200 || st.RingLen != 2 || st.Evicted != 2 {
		t.Fatalf("byte-bounded ring: len %d bytes %d evicted %d", st.RingLen, st.RingBytes, st.Evicted)
	}
	// One event larger than the bound is still kept (the newest always is).
	o.Record(Event{Endpoint: "huge", Fields: map[string]any{"blob": strings.Repeat("y", 5000)}})
	if got := o.Events(Filter{}); len(got) != 1 || got[0].Endpoint != "huge" {
		t.Fatalf("ring = %v", ids(got))
	}
}

func TestEventsFilterAndLimit(t *testing.T) {
	o := NewObserver(50, 0, nil)
	for i := range 10 {
		src := SourceMCP
		if i%2 == 1 {
			src = SourceScenario
		}
		o.Record(Event{Endpoint: "e", Source: src, Workflow: fmt.Sprint("w", i%3)})
	}
	if got := ids(o.Events(Filter{Source: SourceScenario})); fmt.Sprint(got) != "[2 4 6 8 10]" {
		t.Fatalf("source filter = %v", got)
	}
	if got := ids(o.Events(Filter{Limit: 3})); fmt.Sprint(got) != "[8 9 10]" {
		t.Fatalf("limit without since = %v, want the newest 3 oldest first", got)
	}
	if got := ids(o.Events(Filter{SinceID: 4, Limit: 3})); fmt.Sprint(got) != "[5 6 7]" {
		t.Fatalf("since 4 limit 3 = %v, want the next page", got)
	}
	if got := ids(o.Events(Filter{Workflow: "w0", Source: SourceMCP})); fmt.Sprint(got) != "[1 7]" {
		t.Fatalf("workflow+source = %v", got)
	}
	st := o.Stats()
	if len(st.RecentScenarioOps) != 5 || st.RecentScenarioOps[4].ID != 10 {
		t.Fatalf("recent_scenario_ops = %v", ids(st.RecentScenarioOps))
	}
}

func TestEventJSONFlattensFields(t *testing.T) {
	o := NewObserver(5, 0, nil)
	ev := o.Record(Event{Endpoint: "e", Fields: map[string]any{"input_summary": "hi", "id": 99}})
	b, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"input_summary":"hi"`) || strings.Contains(s, `"id":99`) {
		t.Fatalf("encoded %s", s)
	}
	var back Event
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if back.ID != ev.ID || back.Fields["input_summary"] != "hi" || back.Endpoint != "e" {
		t.Fatalf("round trip = %+v", back)
	}
}

// Concurrent writers and readers under -race: ids stay unique and dense.
func TestObserverConcurrentRecord(t *testing.T) {
	o := NewObserver(64, 0, nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				o.Record(Event{Endpoint: fmt.Sprint(w, "/", i)})
				if i%50 == 0 {
					_ = o.Events(Filter{Limit: 10})
					_ = o.Stats()
				}
			}
		}()
	}
	wg.Wait()
	st := o.Stats()
	if st.Total != 1600 || st.LastID != 1600 || st.Evicted != 1600-64 || st.RingLen != 64 {
		t.Fatalf("stats after concurrent writes = %+v", st)
	}
	got := ids(o.Events(Filter{}))
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("ring ids not consecutive: %v", got)
		}
	}
}

func TestBySourceIsBounded(t *testing.T) {
	o := NewObserver(10, 0, nil)
	for i := range maxSources + 50 {
		o.Record(Event{Endpoint: "e", Source: fmt.Sprint("src", i)})
	}
	st := o.Stats()
	if len(st.BySource) > maxSources+1 || st.BySource[otherSource] < 50 {
		t.Fatalf("by_source has %d keys, other=%d", len(st.BySource), st.BySource[otherSource])
	}
}
