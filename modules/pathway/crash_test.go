package pathway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"lakehouse/internal/crashtest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ack is one acknowledged write the crash child reports on stdout.
type ack struct {
	Op      string `json:"op"`
	UID     string `json:"uid"`
	Version int    `json:"version"`
}

// CrashChildren are the package's crash children (internal/crashtest):
// "log" here, others registered by the files that use them (the external
// tests' HTTP server child included).
var CrashChildren = crashtest.Children{}

// TestMain lets the test binary double as a crash child.
func TestMain(m *testing.M) {
	CrashChildren["log"] = func(path string) int { crashChild(path); return 0 }
	crashtest.Main(m, CrashChildren)
}

// crashChild writes forever from several goroutines and prints an ack
// line only after each call returned (= durable); the parent kills it
// with SIGKILL at an arbitrary point.
func crashChild(path string) {
	s, err := Open(path, Options{Logger: quietLog})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	crashWrites(s)
}

// crashWrites is the crash child's workload on s; it never returns.
func crashWrites(s *Service) {
	var mu sync.Mutex
	report := func(a ack) {
		b, _ := json.Marshal(a)
		mu.Lock()
		os.Stdout.Write(append(b, '\n'))
		mu.Unlock()
	}
	for w := 0; w < 4; w++ {
		go func(w int) {
			own := fmt.Sprintf("worker-%d", w)
			if _, _, err := s.AddIdempotent(ctx, own, NewTrace{Content: raw(`{"version":0}`)}); err != nil {
				os.Exit(3)
			}
			report(ack{Op: "add_idempotent", UID: own})
			for i := 1; ; i++ {
				tr, err := s.Add(ctx, NewTrace{Content: raw(fmt.Sprintf(`{"w":%d,"i":%d,"pad":%q}`, w, i, strings.Repeat("p", i%300)))})
				if err != nil {
					os.Exit(4)
				}
				report(ack{Op: "add", UID: tr.UID, Version: i})
				if _, err := s.Update(ctx, own, raw(fmt.Sprintf(`{"version":%d}`, i)), nil); err != nil {
					os.Exit(5)
				}
				report(ack{Op: "update", UID: own, Version: i})
				if i%3 == 0 {
					if _, err := s.Retire(ctx, tr.UID); err != nil {
						os.Exit(6)
					}
					report(ack{Op: "retire", UID: tr.UID})
				}
				if _, _, err := s.AddIdempotent(ctx, "shared", NewTrace{Content: raw(`"first"`)}); err != nil {
					os.Exit(7)
				}
				report(ack{Op: "replay", UID: "shared"})
			}
		}(w)
	}
	select {}
}

// TestCrash_Kill9_AcknowledgedWritesSurvive: SIGKILL a process in the
// middle of concurrent writes; every write it acknowledged is there after
// restart (and the torn tail, if any, is skipped).
func TestCrash_Kill9_AcknowledgedWritesSurvive(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	path := filepath.Join(t.TempDir(), "pathway", "traces.jsonl")
	for round := 0; round < 2; round++ { // the second round appends to a log with a crash in it
		acks := runCrashChild(t, round, "log", path)
		verifyAcks(t, path, acks, round+1)
	}
}

// runCrashChild starts this test binary as the crash child name with
// arg, reads its acknowledgements and SIGKILLs it after 400 of them (or
// 20 s).
func runCrashChild(t *testing.T, round int, name, arg string) []ack {
	t.Helper()
	cmd := crashtest.Command(name, arg)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	killed := false
	for sc.Scan() {
		var a ack
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			// The kill can cut the last report short; it was never
			// a complete acknowledgement.
			continue
		}
		acks = append(acks, a)
		if !killed && (len(acks) >= 400 || time.Now().After(deadline)) {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	if !killed {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	cmd.Wait()
	if len(acks) < 50 {
		t.Fatalf("round %d: child acknowledged only %d writes", round, len(acks))
	}
	return acks
}

func verifyAcks(t *testing.T, path string, acks []ack, crashes int) {
	t.Helper()
	s := openAt(t, path)
	defer s.Close()
	verifyAcksIn(t, s, acks, crashes)
}

// verifyAcksIn checks every acknowledged write against the reopened s.
func verifyAcksIn(t *testing.T, s *Service, acks []ack, crashes int) {
	t.Helper()
	replays := 0
	lastVersion := map[string]int{}
	for _, a := range acks {
		tr, err := s.Get(ctx, a.UID)
		if err != nil {
			t.Fatalf("acknowledged %s of %s lost after kill -9: %v", a.Op, a.UID, err)
		}
		switch a.Op {
		case "add":
			var c struct{ I int }
			json.Unmarshal(tr.Content, &c)
			if c.I != a.Version {
				t.Fatalf("add %s content %s", a.UID, tr.Content)
			}
		case "update":
			lastVersion[a.UID] = max(lastVersion[a.UID], a.Version)
		case "retire":
			if !tr.Retired {
				t.Fatalf("acknowledged retire of %s lost", a.UID)
			}
		case "replay":
			replays++
		}
	}
	for uid, v := range lastVersion {
		tr, _ := s.Get(ctx, uid)
		var c struct{ Version int }
		json.Unmarshal(tr.Content, &c)
		if c.Version < v {
			t.Fatalf("%s at version %d after restart, but version %d was acknowledged", uid, c.Version, v)
		}
	}
	if replays > 0 {
		shared, _ := s.Get(ctx, "shared")
		// The first call adds; the rest are replays. Earlier rounds only
		// add to the count, so it is at least this round's replays - 1.
		if shared.ReplayCount < int64(replays-1) || string(shared.Content) != `"first"` {
			t.Fatalf("shared: replay_count %d after %d acknowledged calls, content %s", shared.ReplayCount, replays, shared.Content)
		}
	}
	rs := s.ReplayStats()
	t.Logf("after kill -9: %d acks verified; replay %+v", len(acks), rs)
	if rs.ApplyErrors != 0 || rs.Corrupted > crashes {
		t.Fatalf("replay after %d crashes %+v: at most one torn line per crash may be corrupt", crashes, rs)
	}
}
