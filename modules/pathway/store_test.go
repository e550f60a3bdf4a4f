package pathway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	ctx      = context.Background()
	quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func openTest(t testing.TB) *Service {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "pathway", "traces.jsonl"))
}

func openAt(t testing.TB, path string) *Service {
	t.Helper()
	s, err := Open(path, Options{Logger: quietLog})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and replays its log into a new Service.
func reopen(t testing.TB, s *Service) *Service {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openAt(t, s.Path())
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func mustAdd(t testing.TB, s *Service, content string, tags ...string) *Trace {
	t.Helper()
	tr, err := s.Add(ctx, NewTrace{Content: raw(content), Tags: tags})
	if err != nil {
		t.Fatalf("add %s: %v", content, err)
	}
	return tr
}

func TestAdd_AssignsUIDAndTimestamps(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"msg": "hello"}`, "x")
	b := mustAdd(t, s, `"second"`)
	if a.UID == "" || b.UID == "" || a.UID == b.UID {
		t.Fatalf("uids %q %q: want two distinct non-empty", a.UID, b.UID)
	}
	if a.CreatedAtNs == 0 || a.UpdatedAtNs != a.CreatedAtNs {
		t.Fatalf("timestamps created=%d updated=%d", a.CreatedAtNs, a.UpdatedAtNs)
	}
	if b.CreatedAtNs <= a.CreatedAtNs {
		t.Fatalf("second trace created %d, not after first %d", b.CreatedAtNs, a.CreatedAtNs)
	}
	if string(a.Content) != `{"msg":"hello"}` || a.Retired || a.ReplayCount != 0 || a.Tags[0] != "x" {
		t.Fatalf("unexpected trace %+v", a)
	}
	got, err := s.Get(ctx, a.UID)
	if err != nil || string(got.Content) != `{"msg":"hello"}` {
		t.Fatalf("get: %v %+v", err, got)
	}
}

func TestAdd_RejectsInvalidJSON(t *testing.T) {
	s := openTest(t)
	for _, c := range []string{`{"a":`, `not json`, ``, `null`, `{"a":1} trailing`} {
		if _, err := s.Add(ctx, NewTrace{Content: raw(c)}); !errors.Is(err, ErrInvalidContent) {
			t.Errorf("content %q: err %v, want ErrInvalidContent", c, err)
		}
	}
	if st, _ := s.Stats(ctx); st.Total != 0 {
		t.Fatalf("invalid adds stored %d traces", st.Total)
	}
	if _, _, err := s.AddIdempotent(ctx, "k", NewTrace{Content: raw(`{`)}); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("add_idempotent invalid: %v", err)
	}
}

func TestUpdate_ReplacesContentSameUID(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"v":1}`, "keep")
	u, err := s.Update(ctx, a.UID, raw(`{"v":2}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.UID != a.UID || string(u.Content) != `{"v":2}` || u.UpdatedAtNs <= a.UpdatedAtNs || u.CreatedAtNs != a.CreatedAtNs {
		t.Fatalf("update returned %+v (was %+v)", u, a)
	}
	if len(u.Tags) != 1 || u.Tags[0] != "keep" {
		t.Fatalf("nil tags should keep tags, got %v", u.Tags)
	}
	s = reopen(t, s)
	got, _ := s.Get(ctx, a.UID)
	if string(got.Content) != `{"v":2}` || got.UpdatedAtNs != u.UpdatedAtNs {
		t.Fatalf("after restart %+v", got)
	}
	if st, _ := s.Stats(ctx); st.Total != 1 {
		t.Fatalf("update created a trace: %+v", st)
	}
}

func TestUpdate_MissingUID_Errors(t *testing.T) {
	s := openTest(t)
	if _, err := s.Update(ctx, "nope", raw(`1`), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
	a := mustAdd(t, s, `1`)
	if _, err := s.Update(ctx, a.UID, raw(`{bad`), nil); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("invalid update: %v", err)
	}
}

func TestRevise_LinksToPredecessorViaHistory(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"v":1}`, "t1")
	r, err := s.Revise(ctx, a.UID, NewTrace{Content: raw(`{"v":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if r.UID == a.UID || r.PredecessorUID != a.UID || len(r.Tags) != 1 {
		t.Fatalf("revision %+v", r)
	}
	h, err := s.History(ctx, r.UID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].UID != r.UID || h[1].UID != a.UID {
		t.Fatalf("history %v", uids(h))
	}
}

func TestRevise_PredecessorMissing_Errors(t *testing.T) {
	s := openTest(t)
	if _, err := s.Revise(ctx, "missing", NewTrace{Content: raw(`1`)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
	if st, _ := s.Stats(ctx); st.Total != 0 {
		t.Fatalf("stored %+v", st)
	}
}

func TestRevise_ChainOfThree_BackwardWalk(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `1`)
	b, _ := s.Revise(ctx, a.UID, NewTrace{Content: raw(`2`)})
	c, _ := s.Revise(ctx, b.UID, NewTrace{Content: raw(`3`)})
	for _, s := range []*Service{s, reopen(t, s)} {
		h, err := s.History(ctx, c.UID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(uids(h)), fmt.Sprint([]string{c.UID, b.UID, a.UID}); got != want {
			t.Fatalf("history %s, want %s", got, want)
		}
		if h, _ := s.History(ctx, b.UID); len(h) != 2 {
			t.Fatalf("history of middle: %v", uids(h))
		}
	}
}

func TestRetire_ExcludedFromSearch(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"text":"forklift driver"}`)
	b := mustAdd(t, s, `{"text":"forklift operator"}`)
	if _, err := s.Retire(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Query{{Text: "forklift"}, {}, {Text: "driver"}} {
		hits, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.UID == a.UID {
				t.Fatalf("query %+v returned the retired trace", q)
			}
		}
		if q.Text != "driver" && (len(hits) != 1 || hits[0].UID != b.UID) {
			t.Fatalf("query %+v: %v", q, hitUIDs(hits))
		}
	}
	if st, _ := s.Stats(ctx); st != (Stats{Total: 2, Active: 1, Retired: 1}) {
		t.Fatalf("stats %+v", st)
	}
	if _, err := s.Retire(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retire unknown: %v", err)
	}
}

func TestRetire_StillAccessibleViaGet(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"x":1}`)
	s.Retire(ctx, a.UID)
	s = reopen(t, s)
	got, err := s.Get(ctx, a.UID)
	if err != nil || !got.Retired || string(got.Content) != `{"x":1}` {
		t.Fatalf("get retired: %v %+v", err, got)
	}
	if st, _ := s.Stats(ctx); st != (Stats{Total: 1, Active: 0, Retired: 1}) {
		t.Fatalf("stats after replay %+v", st)
	}
}

func TestRetire_StillAccessibleViaHistory(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `1`)
	b, _ := s.Revise(ctx, a.UID, NewTrace{Content: raw(`2`)})
	s.Retire(ctx, a.UID)
	s.Retire(ctx, b.UID)
	h, err := s.History(ctx, b.UID)
	if err != nil || len(h) != 2 || !h[0].Retired || !h[1].Retired {
		t.Fatalf("history of retired chain: %v %v", err, uids(h))
	}
}

func TestHistory_CycleDetected(t *testing.T) {
	// Revise cannot make a cycle, so build one the only way it can happen:
	// a log edited or corrupted by hand.
	path := writeLog(t,
		`{"op":"add","trace":{"uid":"a","content":1,"predecessor_uid":"c","created_at_ns":1,"updated_at_ns":1}}`,
		`{"op":"add","trace":{"uid":"b","content":2,"predecessor_uid":"a","created_at_ns":2,"updated_at_ns":2}}`,
		`{"op":"add","trace":{"uid":"c","content":3,"predecessor_uid":"b","created_at_ns":3,"updated_at_ns":3}}`,
		`{"op":"add","trace":{"uid":"self","content":4,"predecessor_uid":"self","created_at_ns":4,"updated_at_ns":4}}`,
	)
	s := openAt(t, path)
	for _, uid := range []string{"c", "self"} {
		done := make(chan error, 1)
		go func() { _, err := s.History(ctx, uid); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrCycle) {
				t.Fatalf("history(%s): %v, want ErrCycle", uid, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("history(%s) hangs on a cycle", uid)
		}
	}
}

func TestHistory_PredecessorMissing_TruncatesChain(t *testing.T) {
	path := writeLog(t,
		`{"op":"add","trace":{"uid":"b","content":2,"predecessor_uid":"gone","created_at_ns":2,"updated_at_ns":2}}`,
		`{"op":"revise","trace":{"uid":"c","content":3,"predecessor_uid":"b","created_at_ns":3,"updated_at_ns":3}}`,
	)
	s := openAt(t, path)
	h, err := s.History(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(uids(h)) != "[c b]" {
		t.Fatalf("history %v, want [c b]", uids(h))
	}
}

func TestHistory_UnknownUID_ErrorsClean(t *testing.T) {
	s := openTest(t)
	h, err := s.History(ctx, "nope")
	if !errors.Is(err, ErrNotFound) || h != nil {
		t.Fatalf("history unknown: %v %v", h, err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

func TestAddIdempotent_IncrementsReplayCount(t *testing.T) {
	s := openTest(t)
	first, replayed, err := s.AddIdempotent(ctx, "job-42", NewTrace{Content: raw(`{"v":"original"}`), Tags: []string{"a"}})
	if err != nil || replayed || first.UID != "job-42" || first.ReplayCount != 0 {
		t.Fatalf("first: %v %v %+v", err, replayed, first)
	}
	for i := 1; i <= 3; i++ {
		tr, replayed, err := s.AddIdempotent(ctx, "job-42", NewTrace{Content: raw(fmt.Sprintf(`{"v":"replay %d"}`, i))})
		if err != nil || !replayed {
			t.Fatalf("replay %d: %v %v", i, err, replayed)
		}
		if tr.ReplayCount != int64(i) || string(tr.Content) != `{"v":"original"}` || tr.Tags[0] != "a" {
			t.Fatalf("replay %d returned %+v", i, tr)
		}
	}
	s = reopen(t, s)
	got, _ := s.Get(ctx, "job-42")
	if got.ReplayCount != 3 || string(got.Content) != `{"v":"original"}` {
		t.Fatalf("after restart %+v", got)
	}
	if _, _, err := s.AddIdempotent(ctx, "", NewTrace{Content: raw(`1`)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty uid: %v", err)
	}
}

// TestReturnedTracesAreClones: the seed leaked internal pointers from Add,
// AddIdempotent and Revise; mutating anything returned must change nothing.
func TestReturnedTracesAreClones(t *testing.T) {
	s := openTest(t)
	scribble := func(tr *Trace) {
		tr.Content[0] = 'X'
		tr.Tags[0] = "mutated"
		tr.Retired = true
		tr.ReplayCount = 99
	}
	a := mustAdd(t, s, `{"v":1}`, "orig")
	scribble(a)
	i, _, _ := s.AddIdempotent(ctx, "idem", NewTrace{Content: raw(`{"v":2}`), Tags: []string{"orig"}})
	scribble(i)
	i2, _, _ := s.AddIdempotent(ctx, "idem", NewTrace{Content: raw(`{"v":3}`)})
	scribble(i2)
	r, _ := s.Revise(ctx, a.UID, NewTrace{Content: raw(`{"v":4}`), Tags: []string{"orig"}})
	scribble(r)
	g, _ := s.Get(ctx, r.UID)
	scribble(g)
	h, _ := s.History(ctx, r.UID)
	for _, x := range h {
		scribble(x)
	}
	hits, _ := s.Search(ctx, Query{})
	for _, x := range hits {
		scribble(x.Trace)
	}
	in := NewTrace{Content: raw(`{"v":5}`), Tags: []string{"orig"}}
	b, _ := s.Add(ctx, in)
	in.Content[1], in.Tags[0] = 'Z', "mutated" // the caller's input, too
	for _, uid := range []string{a.UID, "idem", r.UID, b.UID} {
		got, _ := s.Get(ctx, uid)
		if got.Content[0] != '{' || got.Tags[0] != "orig" || got.Retired || got.ReplayCount > 1 {
			t.Fatalf("%s changed by a caller: %+v", uid, got)
		}
	}
}

func TestConcurrentWritesAndReads(t *testing.T) {
	s := openTest(t)
	seed := mustAdd(t, s, `{"n":0}`)
	var wg sync.WaitGroup
	const workers, each = 8, 25
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tr, err := s.Add(ctx, NewTrace{Content: raw(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)), Kind: "k"})
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 5 {
				case 0:
					s.Update(ctx, seed.UID, raw(fmt.Sprintf(`{"n":%d}`, i)), nil)
				case 1:
					s.AddIdempotent(ctx, "shared", NewTrace{Content: raw(`1`)})
				case 2:
					s.Revise(ctx, tr.UID, NewTrace{Content: raw(`2`)})
				case 3:
					s.Retire(ctx, tr.UID)
				case 4:
					s.Search(ctx, Query{Text: "w", Limit: 5})
					s.History(ctx, seed.UID)
				}
			}
		}(w)
	}
	wg.Wait()
	before, _ := s.Stats(ctx)
	shared, _ := s.Get(ctx, "shared")
	s = reopen(t, s)
	after, _ := s.Stats(ctx)
	if before != after {
		t.Fatalf("stats before restart %+v, after %+v", before, after)
	}
	got, _ := s.Get(ctx, "shared")
	if got.ReplayCount != shared.ReplayCount || got.ReplayCount != workers*each/5-1 {
		t.Fatalf("shared replay_count %d (before restart %d), want %d", got.ReplayCount, shared.ReplayCount, workers*each/5-1)
	}
}

func uids(ts []*Trace) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UID
	}
	return out
}

func hitUIDs(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.UID
	}
	return out
}
