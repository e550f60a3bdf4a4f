package pathway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"lakehouse/modules/kit"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLog writes lines (each followed by a newline) as a log file.
func writeLog(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPersistor_CorruptedLines_Skipped(t *testing.T) {
	path := writeLog(t,
		`{"op":"add","trace":{"uid":"a","content":{"x":1},"created_at_ns":1,"updated_at_ns":1}}`,
		`{"op":"add","trace":{"uid":"b","content":`, // torn
		`garbage \x00\xff`,
		``, // blank lines are not records
		`[1,2,3]`,
		`{"op":"add","trace":{"uid":"c","content":"ok","created_at_ns":2,"updated_at_ns":2}}`,
	)
	s := openAt(t, path)
	rs := s.ReplayStats()
	if rs.Corrupted != 3 || rs.Applied != 2 || rs.Lines != 5 {
		t.Fatalf("replay stats %+v, want 3 corrupted, 2 applied of 5", rs)
	}
	for _, uid := range []string{"a", "c"} {
		if _, err := s.Get(ctx, uid); err != nil {
			t.Fatalf("%s lost: %v", uid, err)
		}
	}
	// The store stays writable and the next restart sees the new write.
	n := mustAdd(t, s, `"after"`)
	s = reopen(t, s)
	if _, err := s.Get(ctx, n.UID); err != nil {
		t.Fatal(err)
	}
}

func TestPersistor_ApplyError_Skipped(t *testing.T) {
	path := writeLog(t,
		`{"op":"add","trace":{"uid":"a","content":1,"created_at_ns":1,"updated_at_ns":1}}`,
		`{"op":"add","trace":{"uid":"a","content":2,"created_at_ns":2,"updated_at_ns":2}}`, // duplicate
		`{"op":"update","uid":"missing","content":3,"ts_ns":3}`,                            // unknown uid
		`{"op":"update","uid":"a","content":{"bad":,"ts_ns":3}`,                            // corrupted, not apply
		`{"op":"retire","uid":"missing","ts_ns":4}`,
		`{"op":"replay","uid":"missing","ts_ns":4}`,
		`{"op":"explode","uid":"a"}`,
		`{"op":"add","trace":{"uid":"","content":1}}`,
		`{"op":"add"}`,
		`{"op":"add","trace":{"uid":"nocontent","created_at_ns":5,"updated_at_ns":5}}`,
		`{"op":"update","uid":"a","content":"new","ts_ns":9}`,
		`{"op":"replay","uid":"a","ts_ns":10}`,
	)
	s := openAt(t, path)
	rs := s.ReplayStats()
	if rs.ApplyErrors != 8 || rs.Corrupted != 1 || rs.Applied != 3 {
		t.Fatalf("replay stats %+v, want 8 apply errors, 1 corrupted, 3 applied", rs)
	}
	a, _ := s.Get(ctx, "a")
	if string(a.Content) != `"new"` || a.ReplayCount != 1 || a.UpdatedAtNs != 9 {
		t.Fatalf("a = %+v", a)
	}
	if st, _ := s.Stats(ctx); st.Total != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPersistor_RoundTrip(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"name":"Ada","skills":["go","sql"],"n":1.5e3,"html":"<b>&</b>"}`, "t1", "t2")
	b, _ := s.Revise(ctx, a.UID, NewTrace{Content: raw(`{"name":"Ada L."}`), Kind: "profile"})
	s.Update(ctx, a.UID, raw(`[1, 2,  3]`), []string{})
	s.AddIdempotent(ctx, "k1", NewTrace{Content: raw(`"x"`)})
	s.AddIdempotent(ctx, "k1", NewTrace{Content: raw(`"y"`)})
	s.Retire(ctx, b.UID)
	want := snapshot(t, s)
	s = reopen(t, s)
	if got := snapshot(t, s); got != want {
		t.Fatalf("state changed across restart:\n got %s\nwant %s", got, want)
	}
	if g, _ := s.Get(ctx, a.UID); len(g.Tags) != 0 || string(g.Content) != `[1,2,3]` {
		t.Fatalf("update with empty tags: %+v", g)
	}
	// New writes after replay get later timestamps than anything replayed.
	c := mustAdd(t, s, `1`)
	if g, _ := s.Get(ctx, b.UID); c.CreatedAtNs <= g.UpdatedAtNs {
		t.Fatalf("clock went back after replay: %d <= %d", c.CreatedAtNs, g.UpdatedAtNs)
	}
}

func TestPersistor_MissingFile_EmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.jsonl")
	s := openAt(t, path)
	if st, _ := s.Stats(ctx); st.Total != 0 {
		t.Fatalf("stats %+v", st)
	}
	if rs := s.ReplayStats(); rs != (ReplayStats{}) {
		t.Fatalf("replay %+v", rs)
	}
}

func TestPersistor_LongLine(t *testing.T) {
	s := openTest(t)
	big := fmt.Sprintf(`{"blob":%q}`, strings.Repeat("abcdefgh", 128<<10)) // 1 MiB: past 64 KiB and the 256 KiB read buffer
	a := mustAdd(t, s, big)
	mustAdd(t, s, `"small after big"`)
	s = reopen(t, s)
	if rs := s.ReplayStats(); rs.Applied != 2 || rs.Corrupted != 0 {
		t.Fatalf("replay %+v", rs)
	}
	got, _ := s.Get(ctx, a.UID)
	if string(got.Content) != big {
		t.Fatalf("long content changed: %d bytes, want %d", len(got.Content), len(big))
	}
}

func TestPersistor_ParentDirAutoCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "c", "traces.jsonl")
	s := openAt(t, path)
	mustAdd(t, s, `1`)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("log not created: %v", err)
	}
}

func TestPersistor_TornTail_Terminated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	good := `{"op":"add","trace":{"uid":"a","content":1,"created_at_ns":1,"updated_at_ns":1}}`
	os.WriteFile(path, []byte(good+"\n"+`{"op":"add","trace":{"uid":"b","con`), 0o644)
	s := openAt(t, path)
	if rs := s.ReplayStats(); !rs.TornTail || rs.Corrupted != 1 || rs.Applied != 1 {
		t.Fatalf("replay %+v", rs)
	}
	// A write after the torn tail must start on its own line.
	n := mustAdd(t, s, `"next"`)
	s = reopen(t, s)
	if _, err := s.Get(ctx, n.UID); err != nil {
		t.Fatalf("write after torn tail lost: %v", err)
	}
	if rs := s.ReplayStats(); rs.Applied != 2 || rs.Corrupted != 1 || rs.TornTail {
		t.Fatalf("second replay %+v", rs)
	}
}

func TestPersistor_LogLineShape(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"k":"<v>"}`)
	s.Update(ctx, a.UID, raw(`2`), nil)
	s.Retire(ctx, a.UID)
	s.AddIdempotent(ctx, a.UID, NewTrace{Content: raw(`3`)})
	s.Revise(ctx, a.UID, NewTrace{Content: raw(`4`)})
	s.Close()
	data, _ := os.ReadFile(s.Path())
	var ops []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		var op string
		json.Unmarshal(m["op"], &op)
		ops = append(ops, op)
	}
	if got := strings.Join(ops, ","); got != "add,update,retire,replay,revise" {
		t.Fatalf("ops %s", got)
	}
	if !bytes.Contains(data, []byte(`"content":{"k":"<v>"}`)) {
		t.Fatalf("content not stored verbatim: %s", data)
	}
}

func TestOpen_SecondOpenIsLocked(t *testing.T) {
	s := openTest(t)
	if _, err := Open(s.Path(), Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	s.Close()
	s2 := openAt(t, s.Path())
	s2.Close()
}

func TestClose_WritesFailAfterward(t *testing.T) {
	s := openTest(t)
	s.Close()
	if _, err := s.Add(ctx, NewTrace{Content: raw(`1`)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("add after close: %v", err)
	}
}

// snapshot renders every trace, sorted, for state comparisons.
func snapshot(t testing.TB, s *Service) string {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	es := make([]*Trace, 0, len(s.st.traces))
	for _, e := range s.st.traces {
		es = append(es, e.t)
	}
	sortTraces(es)
	b, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortTraces(ts []*Trace) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].UID < ts[j-1].UID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// TestPersistor_WriteFailurePoisons: after a failed write/fsync no later
// write is acknowledged (memory may hold what the disk does not); reads
// keep working and a restart replays what reached the disk.
func TestPersistor_WriteFailurePoisons(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `"durable"`)
	s.p.mu.Lock()
	s.p.f.Close() // the next write fails like a dead disk would
	s.p.mu.Unlock()
	if _, err := s.Add(ctx, NewTrace{Content: raw(`"lost"`)}); !errors.Is(err, errLogFailed) {
		t.Fatalf("write on a failed log: %v", err)
	}
	if _, err := s.Update(ctx, a.UID, raw(`"also lost"`), nil); !errors.Is(err, errLogFailed) {
		t.Fatalf("second write: %v", err)
	}
	if g, err := s.Get(ctx, a.UID); err != nil || string(g.Content) != `"durable"` {
		t.Fatalf("read after failure: %v %+v", err, g)
	}
	m := &Module{svc: s}
	if err := m.Check(ctx); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("check: %v", err)
	}
	if ae := kit.AsAPIError(fmt.Errorf("add: %w", errLogFailed)); ae.Status != 503 || ae.Header.Get("Retry-After") == "" {
		t.Fatalf("status for a failed log: %+v", ae)
	}
	s.Close()
	s = openAt(t, s.Path())
	if st, _ := s.Stats(ctx); st.Total != 1 {
		t.Fatalf("after restart %+v", st)
	}
}
