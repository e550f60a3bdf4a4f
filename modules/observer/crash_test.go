package observer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lakehouse/internal/crashtest"
	"lakehouse/modules/storage"
)

// TestMain lets the test binary double as the crash child
// (internal/crashtest).
func TestMain(m *testing.M) {
	crashtest.Main(m, crashtest.Children{"recorder": func(root string) int { crashChild(root); return 0 }})
}

// crashChild records events as fast as it can, with a tight flush
// interval and frequent compaction, and prints the durable id after every
// flush returned; the parent kills it with SIGKILL at an arbitrary point.
func crashChild(root string) {
	store, err := storage.OpenLocal(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := NewObserver(100, 0, log)
	p := newPersister(store, o, log, 64, 1_000_000, 4)
	r, err := p.replay(context.Background(), 100)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child replay:", err)
		os.Exit(3)
	}
	o.restore(r.counts, r.ring, r.lastID+1)
	o.onRecord(p.enqueue)
	go func() {
		for i := 0; ; i++ {
			o.Record(Event{Endpoint: fmt.Sprint("op", i), Success: i%5 != 0, Fields: map[string]any{"pad": strings.Repeat("p", i%200)}})
			if i%4 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for {
		if err := p.flush(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "child flush:", err)
			os.Exit(4)
		}
		fmt.Println(p.status().DurableID)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrashKeepsEveryFlushedEvent kills a writer with SIGKILL (twice, the
// second time on the replayed store) and checks that every event a
// returned flush covered is replayed, counted once, and that ids go on
// from the highest persisted one.
func TestCrashKeepsEveryFlushedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	root := t.TempDir()
	var acked int64
	for round := range 2 {
		cmd := crashtest.Command("recorder", root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		lines := 0
		for sc.Scan() {
			id, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			if id < acked {
				t.Fatalf("round %d: durable id went back from %d to %d", round, acked, id)
			}
			acked = id
			if lines++; lines == 20+round*7 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		if acked == 0 {
			t.Fatalf("round %d: child acknowledged nothing", round)
		}
	}
	store, err := storage.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	o, p := boot(t, store, 100, 4)
	st := o.Stats()
	if st.LastID < acked {
		t.Fatalf("replayed up to id %d, but %d was acknowledged durable", st.LastID, acked)
	}
	// Every id from 1 to LastID is in the segments exactly once, and the
	// counters agree with them.
	live, _, err := listSegments(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	var want int64 = 1
	var failures int64
	for _, s := range live {
		evs, bad, err := readSegment(context.Background(), store, s)
		if err != nil || bad > 0 {
			t.Fatalf("segment %s: %v (%d bad lines)", s.key(), err, bad)
		}
		for _, ev := range evs {
			if ev.ID != want {
				t.Fatalf("segment %s: id %d, want %d (gap or duplicate)", s.key(), ev.ID, want)
			}
			if !ev.Success {
				failures++
			}
			want++
		}
	}
	if want-1 != st.LastID || st.Total != st.LastID || st.Failures != failures {
		t.Fatalf("segments hold ids 1..%d; stats %+v (failures in segments %d)", want-1, st, failures)
	}
	if ev := o.Record(Event{Endpoint: "after"}); ev.ID != st.LastID+1 {
		t.Fatalf("next id %d after replaying %d", ev.ID, st.LastID)
	}
	_ = p
}
