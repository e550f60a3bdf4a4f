package pathway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// forEachBucket runs fn against a real MinIO bucket (skipped without the
// binary) and against the local backend standing in for a bucket.
func forEachBucket(t *testing.T, fn func(t *testing.T, newStore func() storage.Store)) {
	t.Run("minio", func(t *testing.T) {
		s3 := storagetest.StartMinIO(t)
		fn(t, func() storage.Store { return openS3(t, s3) })
	})
	t.Run("local-store", func(t *testing.T) {
		root := t.TempDir()
		fn(t, func() storage.Store {
			st, err := storage.OpenLocal(root)
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

func openS3(t testing.TB, cfg config.S3Config) storage.Store {
	t.Helper()
	st, err := storage.OpenS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// openBucketAt opens the store whose log lives in st, with its local copy
// under dataDir.
func openBucketAt(t testing.TB, dataDir string, st storage.Store, opts Options) *Service {
	t.Helper()
	opts.Logger, opts.Remote = quietLog, st
	s, err := Open(filepath.Join(dataDir, "pathway", "traces.jsonl"), opts)
	if err != nil {
		t.Fatalf("open over the bucket: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dumpState renders every trace (retired flags, replay counts, links,
// timestamps) and the stats, to compare two nodes.
func dumpState(t testing.TB, s *Service) string {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	uids := make([]string, 0, len(s.st.traces))
	for uid := range s.st.traces {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	var b strings.Builder
	for _, uid := range uids {
		j, _ := json.Marshal(s.st.traces[uid].t)
		b.Write(j)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%+v lastNs=%d", s.st.stats(), s.st.lastNs)
	return b.String()
}

// bucketKeys lists the pathway objects in the bucket.
func bucketKeys(t testing.TB, st storage.Store) []string {
	t.Helper()
	page, err := st.List(ctx, remotePrefix, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range page.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}

// writeEveryKind does add, update (content and tags), revise (a chain of
// two), retire and idempotent add + replay, and returns the chain head.
func writeEveryKind(t testing.TB, s *Service, tag string) string {
	t.Helper()
	root, err := s.Add(ctx, NewTrace{Content: raw(`{"step":"first","note":"forklift ` + tag + `"}`), Tags: []string{tag}, Kind: "note"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, root.UID, raw(`{"step":"first","note":"updated `+tag+`"}`), []string{tag, "edited"}); err != nil {
		t.Fatal(err)
	}
	mid, err := s.Revise(ctx, root.UID, NewTrace{Content: raw(`{"step":"second"}`)})
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.Revise(ctx, mid.UID, NewTrace{Content: raw(`{"step":"third","deep":[[[{"a":1}]]]}`), Tags: []string{"head"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retire(ctx, root.UID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := s.AddIdempotent(ctx, "fixed-"+tag, NewTrace{Content: raw(`"original"`)}); err != nil {
			t.Fatal(err)
		}
	}
	return head.UID
}

func checkChain(t testing.TB, s *Service, head string) {
	t.Helper()
	h, err := s.History(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || !strings.Contains(string(h[2].Content), "updated") || !h[2].Retired {
		t.Fatalf("history of %s after rebuild: %d traces, oldest %s retired=%v", head, len(h), h[len(h)-1].Content, h[len(h)-1].Retired)
	}
}

// TestBucket_NewNodeRebuildsEverything: node A writes every kind of
// change and is deleted with its data dir; node B on a new data dir over
// the same bucket holds exactly what A acknowledged. B's own restart then
// uses its local copy, and a damaged copy falls back to the bucket.
func TestBucket_NewNodeRebuildsEverything(t *testing.T) {
	forEachBucket(t, func(t *testing.T, newStore func() storage.Store) {
		dirA := t.TempDir()
		a := openBucketAt(t, dirA, newStore(), Options{})
		head := writeEveryKind(t, a, "a")
		want := dumpState(t, a)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dirA); err != nil {
			t.Fatal(err)
		}

		dirB := t.TempDir()
		b := openBucketAt(t, dirB, newStore(), Options{})
		if got := dumpState(t, b); got != want {
			t.Fatalf("new node differs from the node that acknowledged:\n got %s\nwant %s", got, want)
		}
		if b.ReplaySource() != "bucket" {
			t.Fatalf("new data dir replayed from %q", b.ReplaySource())
		}
		checkChain(t, b, head)
		fixed, _ := b.Get(ctx, "fixed-a")
		if fixed.ReplayCount != 2 || string(fixed.Content) != `"original"` {
			t.Fatalf("idempotent add after rebuild: %+v", fixed)
		}
		if hits, _ := b.Search(ctx, Query{Text: "third"}); len(hits) != 1 || hits[0].UID != head {
			t.Fatalf("search after rebuild: %+v", hits)
		}
		head2 := writeEveryKind(t, b, "b")
		want = dumpState(t, b)
		b.Close()

		// Same data dir: the local copy is used, newer segments fetched.
		b = openBucketAt(t, dirB, newStore(), Options{})
		if got := dumpState(t, b); got != want || b.ReplaySource() != "cache+bucket" {
			t.Fatalf("restart on the same dir (source %s) differs:\n got %s\nwant %s", b.ReplaySource(), got, want)
		}
		b.Close()

		// A node that wrote in between makes B's copy stale: B catches up.
		dirC := t.TempDir()
		c := openBucketAt(t, dirC, newStore(), Options{})
		writeEveryKind(t, c, "c")
		want = dumpState(t, c)
		c.Close()
		b = openBucketAt(t, dirB, newStore(), Options{})
		if got := dumpState(t, b); got != want {
			t.Fatalf("stale copy not caught up (source %s):\n got %s\nwant %s", b.ReplaySource(), got, want)
		}
		checkChain(t, b, head2)
		b.Close()

		// A damaged copy (same length, one byte changed) is not trusted.
		copyPath := filepath.Join(dirB, "pathway", "traces.jsonl")
		data, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, []byte("original"))
		data[i] = 'O'
		if err := os.WriteFile(copyPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b = openBucketAt(t, dirB, newStore(), Options{})
		if got := dumpState(t, b); got != want || b.ReplaySource() != "bucket" {
			t.Fatalf("damaged copy (source %s):\n got %s\nwant %s", b.ReplaySource(), got, want)
		}
	})
}

// TestBucket_GroupCommit: concurrent writers share segment PUTs, and
// every acknowledged write is in the bucket.
func TestBucket_GroupCommit(t *testing.T) {
	forEachBucket(t, func(t *testing.T, newStore func() storage.Store) {
		dir := t.TempDir()
		s := openBucketAt(t, dir, newStore(), Options{})
		const writers, per = 32, 10
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					if _, err := s.Add(ctx, NewTrace{Content: benchContent(w, i)}); err != nil {
						t.Error(err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		want := dumpState(t, s)
		segs := s.p.ship.seq
		s.Close()
		t.Logf("%d acknowledged writes in %d segment PUTs", writers*per, segs)
		if segs == 0 || segs > writers*per {
			t.Fatalf("%d segments for %d writes", segs, writers*per)
		}
		os.RemoveAll(dir)
		b := openBucketAt(t, t.TempDir(), newStore(), Options{})
		if got := dumpState(t, b); got != want {
			t.Fatal("writes missing after a rebuild")
		}
	})
}

// snapshotBucket copies every pathway object: what the bucket would hold
// if the process died at this point.
func snapshotBucket(t testing.TB, st storage.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range bucketKeys(t, st) {
		rc, _, err := st.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		out[k], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// restoreBucket makes the pathway objects exactly objs.
func restoreBucket(t testing.TB, st storage.Store, objs map[string][]byte) {
	t.Helper()
	for _, k := range bucketKeys(t, st) {
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range objs {
		if _, err := st.Put(ctx, k, bytes.NewReader(v), int64(len(v))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBucket_CompactThenNewNode: compaction leaves one snapshot and the
// segments after it; a new node rebuilds the same state from them, and
// from a bucket where a compaction stopped after its snapshot PUT (before
// any delete), whose leftovers that start removes.
func TestBucket_CompactThenNewNode(t *testing.T) {
	forEachBucket(t, func(t *testing.T, newStore func() storage.Store) {
		st := newStore()
		dir := t.TempDir()
		s := openBucketAt(t, dir, st, Options{})
		for i := 0; i < 20; i++ {
			writeEveryKind(t, s, fmt.Sprint(i))
		}
		res, err := s.Compact(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys := bucketKeys(t, st)
		if len(keys) != 1 || !strings.HasPrefix(keys[0], remoteSnapPrefix) {
			t.Fatalf("after compaction the bucket holds %v, want one snapshot", keys)
		}
		if res.Traces != 80 || res.AfterBytes >= res.BeforeBytes {
			t.Fatalf("compaction result %+v", res)
		}
		head := writeEveryKind(t, s, "after")

		// A second compaction that "crashes" after its snapshot PUT.
		var crashed map[string][]byte
		testHookRemoteSnapshotPut = func() { crashed = snapshotBucket(t, st) }
		_, err = s.Compact(ctx)
		testHookRemoteSnapshotPut = nil
		if err != nil {
			t.Fatal(err)
		}
		if n := len(bucketKeys(t, st)); n != 1 {
			t.Fatalf("after the second compaction the bucket holds %d objects", n)
		}
		writeEveryKind(t, s, "tail")
		want := dumpState(t, s)
		s.Close()
		os.RemoveAll(dir)

		b := openBucketAt(t, t.TempDir(), newStore(), Options{})
		if got := dumpState(t, b); got != want {
			t.Fatalf("new node after compactions:\n got %s\nwant %s", got, want)
		}
		checkChain(t, b, head)
		b.Close()

		// The bucket as the crashed compaction left it: two snapshots and
		// the segments the newer one covers. Nothing is applied twice.
		restoreBucket(t, st, crashed)
		b = openBucketAt(t, t.TempDir(), newStore(), Options{})
		if b.ReplayStats().ApplyErrors != 0 {
			t.Fatalf("replay over compaction leftovers: %+v", b.ReplayStats())
		}
		checkChain(t, b, head)
		if got := bucketKeys(t, st); len(got) != 1 || !strings.HasPrefix(got[0], remoteSnapPrefix) {
			t.Fatalf("leftovers not removed at start: %v", got)
		}
	})
}

// failingStore fails every Put once fail is set.
type failingStore struct {
	storage.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return storage.ObjectInfo{}, errors.New("injected: bucket unreachable")
	}
	return f.Store.Put(ctx, key, r, size)
}

// TestBucket_FailedPutIsNotAcknowledged: a batch whose PUT fails fails its
// writers, later writes fail too (the memory may hold what the bucket
// does not), and a restart holds exactly the acknowledged writes.
func TestBucket_FailedPutIsNotAcknowledged(t *testing.T) {
	root := t.TempDir()
	local, err := storage.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: local}
	s := openBucketAt(t, t.TempDir(), fs, Options{})
	ok := mustAdd(t, s, `{"kept":true}`)
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if _, err := s.Add(ctx, NewTrace{Content: raw(`{"lost":true}`)}); !errors.Is(err, errLogFailed) {
		t.Fatalf("add with the bucket failing: %v", err)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if _, err := s.Add(ctx, NewTrace{Content: raw(`{"after":true}`)}); !errors.Is(err, errLogFailed) {
		t.Fatalf("add after a failed batch must fail until a restart: %v", err)
	}
	s.Close()
	b := openBucketAt(t, t.TempDir(), local, Options{})
	if st, _ := b.Stats(ctx); st.Total != 1 {
		t.Fatalf("after restart: %+v", st)
	}
	if _, err := b.Get(ctx, ok.UID); err != nil {
		t.Fatal(err)
	}
}

// TestBucket_SwitchFromLocalBackend: a node that ran with the local
// backend switches to a bucket. An empty bucket imports its log (nothing
// acknowledged is lost, a new node then finds it); a bucket that already
// holds a log wins, and the local log is set aside, never overwritten.
func TestBucket_SwitchFromLocalBackend(t *testing.T) {
	forEachBucket(t, func(t *testing.T, newStore func() storage.Store) {
		dir := t.TempDir()
		path := filepath.Join(dir, "pathway", "traces.jsonl")
		l := openAt(t, path)
		head := writeEveryKind(t, l, "local")
		want := dumpState(t, l)
		l.Close()

		s := openBucketAt(t, dir, newStore(), Options{})
		if got := dumpState(t, s); got != want || s.ReplaySource() != "local import" {
			t.Fatalf("switch to the bucket (source %s):\n got %s\nwant %s", s.ReplaySource(), got, want)
		}
		writeEveryKind(t, s, "after")
		want = dumpState(t, s)
		s.Close()
		b := openBucketAt(t, t.TempDir(), newStore(), Options{})
		if got := dumpState(t, b); got != want {
			t.Fatalf("new node after the import:\n got %s\nwant %s", got, want)
		}
		checkChain(t, b, head)
		b.Close()

		// Another local-backend node switches to the now non-empty bucket.
		dir2 := t.TempDir()
		l2 := openAt(t, filepath.Join(dir2, "pathway", "traces.jsonl"))
		mustAdd(t, l2, `{"other":"node"}`)
		l2.Close()
		s2 := openBucketAt(t, dir2, newStore(), Options{})
		if got := dumpState(t, s2); got != want {
			t.Fatalf("bucket log must win:\n got %s\nwant %s", got, want)
		}
		aside, _ := filepath.Glob(filepath.Join(dir2, "pathway", "traces.jsonl.local-*"))
		if len(aside) != 1 {
			t.Fatalf("local log not set aside: %v", aside)
		}
		if data, _ := os.ReadFile(aside[0]); !bytes.Contains(data, []byte(`"other":"node"`)) {
			t.Fatalf("set-aside log lost its content: %s", data)
		}
	})
}
