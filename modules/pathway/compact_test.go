package pathway

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

func TestCompact_StateUnchangedAndSmaller(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"v":0}`, "t")
	for i := 1; i <= 50; i++ {
		s.Update(ctx, a.UID, raw(fmt.Sprintf(`{"v":%d}`, i)), nil)
	}
	r, _ := s.Revise(ctx, a.UID, NewTrace{Content: raw(`"rev"`)})
	s.AddIdempotent(ctx, "idem", NewTrace{Content: raw(`1`)})
	s.AddIdempotent(ctx, "idem", NewTrace{Content: raw(`2`)})
	s.Retire(ctx, a.UID)
	want := snapshot(t, s)
	res, err := s.Compact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Traces != 3 || res.AfterBytes >= res.BeforeBytes {
		t.Fatalf("compaction %+v", res)
	}
	if got := snapshot(t, s); got != want {
		t.Fatalf("compaction changed live state")
	}
	// Writes after compaction land in the new file; a restart sees all.
	mustAdd(t, s, `"after"`)
	want = snapshot(t, s)
	s = reopen(t, s)
	if rs := s.ReplayStats(); rs.Lines != 4 || rs.Corrupted+rs.ApplyErrors != 0 {
		t.Fatalf("replay of compacted log %+v", rs)
	}
	if got := snapshot(t, s); got != want {
		t.Fatalf("state after compact+restart differs:\n got %s\nwant %s", got, want)
	}
	if h, err := s.History(ctx, r.UID); err != nil || len(h) != 2 {
		t.Fatalf("history after compaction: %v %v", err, uids(h))
	}
	if _, err := os.Stat(s.Path() + compactSuffix); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
}

func TestCompact_Automatic(t *testing.T) {
	path := t.TempDir() + "/traces.jsonl"
	s, err := Open(path, Options{CompactBytes: 4 << 10, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := mustAdd(t, s, `{"v":0}`)
	for i := 0; i < 200; i++ {
		s.Update(ctx, a.UID, raw(fmt.Sprintf(`{"v":%d,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`, i)), nil)
	}
	// A poll, not a timing goal: the race pass on a loaded machine is slow.
	deadline := time.Now().Add(30 * time.Second)
	for {
		size, _ := s.p.sizes()
		if size < 4<<10 && !s.compacting.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never compacted: %d bytes", size)
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := snapshot(t, s)
	s.Close()
	s2 := openAt(t, path)
	if got := snapshot(t, s2); got != want {
		t.Fatalf("state after automatic compaction + restart differs")
	}
	if g, _ := s2.Get(ctx, a.UID); string(g.Content) != `{"v":199,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}` {
		t.Fatalf("latest update lost: %s", g.Content)
	}
}

func TestOpen_RemovesStaleCompactionTemp(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `1`)
	s.Close()
	// A crash mid-compaction leaves a half temp file; the log is intact.
	os.WriteFile(s.Path()+compactSuffix, []byte(`{"op":"add","trace":{"uid":"half`), 0o644)
	s = openAt(t, s.Path())
	if _, err := s.Get(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path() + compactSuffix); !os.IsNotExist(err) {
		t.Fatalf("stale temp not removed: %v", err)
	}
}

// TestCompact_WritersNotHeldDuringSnapshot: writes made while the snapshot
// is being written complete (they are not blocked) and land in the
// compacted log through the teed tail; concurrent writers during repeated
// compactions lose nothing.
func TestCompact_WritersNotHeldDuringSnapshot(t *testing.T) {
	s := openTest(t)
	a := mustAdd(t, s, `{"v":0}`)
	for i := 1; i <= 20; i++ {
		s.Update(ctx, a.UID, raw(fmt.Sprintf(`{"v":%d}`, i)), nil)
	}
	var during []*Trace
	testHookCompactSnapshotWritten = func() {
		during = append(during, mustAdd(t, s, `"written during the snapshot"`))
		s.Update(ctx, a.UID, raw(`{"v":"during"}`), nil)
		s.Retire(ctx, during[0].UID)
	}
	defer func() { testHookCompactSnapshotWritten = nil }()
	res, err := s.Compact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testHookCompactSnapshotWritten = nil
	if res.Traces != 1 {
		t.Fatalf("snapshot held %d traces, want 1 (the rest is the tail)", res.Traces)
	}
	want := snapshot(t, s)
	s = reopen(t, s)
	if got := snapshot(t, s); got != want {
		t.Fatalf("state after compaction with writes during it:\n got %s\nwant %s", got, want)
	}
	if g, _ := s.Get(ctx, during[0].UID); !g.Retired {
		t.Fatal("retire written during the snapshot lost")
	}
	if rs := s.ReplayStats(); rs.Lines != 4 || rs.ApplyErrors+rs.Corrupted != 0 {
		t.Fatalf("replay %+v, want 1 snapshot line + 3 tail lines", rs)
	}

	// Many writers, several compactions at once with them.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tr, err := s.Add(ctx, NewTrace{Content: raw(fmt.Sprintf(`[%d,%d]`, w, i))})
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					s.Update(ctx, tr.UID, raw(`"u"`), nil)
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	want = snapshot(t, s)
	s = reopen(t, s)
	if got := snapshot(t, s); got != want {
		t.Fatal("state differs after compactions under concurrent writes + restart")
	}
}
