package pathway

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func nestedJSON(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

// TestDepthCappedOnEveryWrite: content nested deeper than MaxJSONDepth is
// refused by every write of the Store (workflows call it directly), and
// nothing is logged for it.
func TestDepthCappedOnEveryWrite(t *testing.T) {
	s := openTest(t)
	ok, err := s.Add(ctx, NewTrace{Content: json.RawMessage(nestedJSON(512))})
	if err != nil {
		t.Fatalf("512 levels (the default cap) must be accepted: %v", err)
	}
	deep := json.RawMessage(nestedJSON(513))
	if _, err := s.Add(ctx, NewTrace{Content: deep}); !errors.Is(err, ErrInvalidContent) || !strings.Contains(err.Error(), "max_json_depth") {
		t.Fatalf("add 513 levels: %v", err)
	}
	if _, _, err := s.AddIdempotent(ctx, "u1", NewTrace{Content: deep}); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("add_idempotent: %v", err)
	}
	if _, err := s.Update(ctx, ok.UID, deep, nil); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("update: %v", err)
	}
	if _, err := s.Revise(ctx, ok.UID, NewTrace{Content: deep}); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("revise: %v", err)
	}
	s = reopen(t, s)
	if st, _ := s.Stats(ctx); st.Total != 1 || s.ReplayStats().Corrupted != 0 {
		t.Fatalf("after restart: %+v, replay %+v", st, s.ReplayStats())
	}
}

// TestReplayKeepsRecordsDeeperThanTheDecoder: a log written before the cap
// holds acknowledged traces whose content (9 999 levels) fits the JSON
// decoder alone but not inside its record; replay must keep them (it
// dropped them as corrupted), also across a compaction.
func TestReplayKeepsRecordsDeeperThanTheDecoder(t *testing.T) {
	s := openTest(t)
	path := s.Path()
	if _, err := s.Add(ctx, NewTrace{Content: json.RawMessage(`{"before":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deep := nestedJSON(9999)
	lines := `{"op":"add","trace":{"uid":"deep-add","content":` + deep + `,"created_at_ns":5,"updated_at_ns":5,"tags":["t"],"kind":"k"}}` + "\n" +
		`{"op":"add","trace":{"uid":"deep-upd","content":1,"created_at_ns":6,"updated_at_ns":6}}` + "\n" +
		`{"op":"update","uid":"deep-upd","content":` + deep + `,"ts_ns":7}` + "\n"
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s = openAt(t, path)
	check := func(s *Service) {
		t.Helper()
		if rs := s.ReplayStats(); rs.Corrupted != 0 || rs.ApplyErrors != 0 {
			t.Fatalf("replay dropped records: %+v", rs)
		}
		for _, uid := range []string{"deep-add", "deep-upd"} {
			tr, err := s.Get(ctx, uid)
			if err != nil {
				t.Fatalf("get %s: %v", uid, err)
			}
			if string(tr.Content) != deep {
				t.Fatalf("%s: content of %d bytes, want the 9999-level value", uid, len(tr.Content))
			}
		}
		if tr, _ := s.Get(ctx, "deep-add"); tr.Kind != "k" || len(tr.Tags) != 1 || tr.CreatedAtNs != 5 {
			t.Fatalf("deep-add fields: %+v", tr)
		}
	}
	check(s)
	if _, err := s.Compact(ctx); err != nil {
		t.Fatalf("compact: %v", err)
	}
	s = reopen(t, s)
	check(s)
	if st, _ := s.Stats(ctx); st.Total != 3 {
		t.Fatalf("stats after compaction: %+v", st)
	}
}

// TestSearchAndHistoryAnswersBounded: a search (up to 1000 hits) or a
// history walk clones whole traces; the content of one answer is bounded
// (the best hit / newest trace always comes back).
func TestSearchAndHistoryAnswersBounded(t *testing.T) {
	s, err := Open(t.TempDir()+"/traces.jsonl", Options{Logger: quietLog, MaxAnswerBytes: 250 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	big := json.RawMessage(`"` + strings.Repeat("w", 100<<10) + `"`)
	prev, err := s.Add(ctx, NewTrace{Content: big, Kind: "big"})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if prev, err = s.Revise(ctx, prev.UID, NewTrace{Content: big}); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := s.Search(ctx, Query{Kind: "big", Limit: 1000})
	if err != nil || len(hits) != 2 {
		t.Fatalf("search: %d hits (%v), want the 2 that fit 250 KiB", len(hits), err)
	}
	chain, err := s.History(ctx, prev.UID)
	if err != nil || len(chain) != 2 || chain[len(chain)-1].PredecessorUID == "" {
		t.Fatalf("history: %d traces (%v)", len(chain), err)
	}
	one, err := Open(t.TempDir()+"/t.jsonl", Options{Logger: quietLog, MaxAnswerBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if _, err := one.Add(ctx, NewTrace{Content: big}); err != nil {
		t.Fatal(err)
	}
	if hits, _ := one.Search(ctx, Query{}); len(hits) != 1 {
		t.Fatalf("the best hit must come back even above the budget: %d", len(hits))
	}
}
