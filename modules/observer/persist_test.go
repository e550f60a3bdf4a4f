package observer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"lakehouse/modules/storage"
)

// flakyStore fails every Put while broken is set.
type flakyStore struct {
	storage.Store
	broken atomic.Bool
	puts   atomic.Int64
}

func (f *flakyStore) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	f.puts.Add(1)
	if f.broken.Load() {
		return storage.ObjectInfo{}, errors.New("disk on fire")
	}
	return f.Store.Put(ctx, key, r, size)
}

func localStore(t *testing.T) storage.Store {
	t.Helper()
	st, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// boot wires an observer to a persister over store and replays, the way
// Module.Init does.
func boot(t *testing.T, store storage.Store, ringSize, compactAt int) (*Observer, *persister) {
	t.Helper()
	o := NewObserver(ringSize, 0, nil)
	p := newPersister(store, o, o.log, 1000, 10_000, compactAt)
	r, err := p.replay(context.Background(), ringSize)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	o.restore(r.counts, r.ring, r.lastID+1)
	o.onRecord(p.enqueue)
	return o, p
}

func TestPersistAndReplay(t *testing.T) {
	ctx := context.Background()
	store := localStore(t)
	o, p := boot(t, store, 4, 100)
	for i := range 7 {
		o.Record(Event{Endpoint: fmt.Sprint("op", i), Success: i != 3, Source: []string{"mcp", "scenario"}[i%2]})
		if i == 2 || i == 5 {
			if err := p.flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.flush(ctx); err != nil {
		t.Fatal(err)
	}
	before := o.Stats()

	o2, p2 := boot(t, store, 4, 100)
	after := o2.Stats()
	if after.Total != 7 || after.Failures != 1 || after.BySource["scenario"] != 3 || after.LastID != 7 {
		t.Fatalf("replayed stats = %+v, before %+v", after, before)
	}
	if got := ids(o2.Events(Filter{})); fmt.Sprint(got) != "[4 5 6 7]" {
		t.Fatalf("replayed ring = %v", got)
	}
	if after.Evicted != 0 {
		t.Fatalf("replay counted %d evictions", after.Evicted)
	}
	if ev := o2.Record(Event{Endpoint: "next"}); ev.ID != 8 {
		t.Fatalf("id after replay = %d, want 8", ev.ID)
	}
	if err := p2.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p2.status(); st.Segments != 4 || st.DurableID != 8 {
		t.Fatalf("status = %+v", st)
	}
}

// The checkpoint may lag the segments (a crash between the two writes):
// replay counts the events after it from the segments.
func TestReplayCountsEventsAfterStaleCheckpoint(t *testing.T) {
	ctx := context.Background()
	store := &flakyStore{Store: localStore(t)}
	o, p := boot(t, store, 10, 100)
	o.Record(Event{Endpoint: "a", Success: true})
	if err := p.flush(ctx); err != nil {
		t.Fatal(err)
	}
	o.Record(Event{Endpoint: "b", Success: false})
	o.Record(Event{Endpoint: "c", Success: true})
	// Write the segment but not the checkpoint.
	p.mu.Lock()
	batch := p.pending
	p.pending = nil
	p.mu.Unlock()
	var lines []byte
	for _, pl := range batch {
		lines = append(append(lines, pl.line...), '\n')
	}
	seg := segment{first: batch[0].id, last: batch[len(batch)-1].id}
	if _, err := store.Put(ctx, seg.key(), bytesReader(lines), int64(len(lines))); err != nil {
		t.Fatal(err)
	}
	o2, _ := boot(t, store, 10, 100)
	st := o2.Stats()
	if st.Total != 3 || st.Failures != 1 || st.LastID != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestPersistFailureIsCountedAndRetried(t *testing.T) {
	ctx := context.Background()
	store := &flakyStore{Store: localStore(t)}
	o, p := boot(t, store, 10, 100)
	store.broken.Store(true)
	for i := range 3 {
		o.Record(Event{Endpoint: fmt.Sprint("op", i)})
	}
	if err := p.flush(ctx); err == nil {
		t.Fatal("flush to a broken store succeeded")
	}
	if st := o.Stats(); st.PersistFailures != 1 || st.Total != 3 || st.RingLen != 3 {
		t.Fatalf("after failure: %+v", st)
	}
	if ps := p.status(); ps.Pending != 3 || ps.LastError == "" {
		t.Fatalf("persist status = %+v", ps)
	}
	store.broken.Store(false)
	o.Record(Event{Endpoint: "later"})
	if err := p.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ps := p.status(); ps.Pending != 0 || ps.LastError != "" || ps.DurableID != 4 {
		t.Fatalf("after recovery: %+v", ps)
	}
	o2, _ := boot(t, store, 10, 100)
	if got := ids(o2.Events(Filter{})); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("nothing lost across the outage: replayed %v", got)
	}
}

func TestPersistBacklogIsBounded(t *testing.T) {
	store := &flakyStore{Store: localStore(t)}
	store.broken.Store(true)
	o := NewObserver(10, 0, nil)
	p := newPersister(store, o, o.log, 1000, 5, 100)
	o.onRecord(p.enqueue)
	for range 8 {
		o.Record(Event{Endpoint: "x"})
	}
	if ps := p.status(); ps.Pending != 5 || ps.Dropped != 3 {
		t.Fatalf("backlog = %+v", ps)
	}
	if st := o.Stats(); st.PersistFailures != 3 {
		t.Fatalf("dropped events not counted: %+v", st)
	}
}

func TestCompactionMergesSegmentsAndReplayDropsCovered(t *testing.T) {
	ctx := context.Background()
	store := localStore(t)
	o, p := boot(t, store, 100, 3)
	for i := range 7 {
		o.Record(Event{Endpoint: fmt.Sprint("op", i)})
		if err := p.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	live, redundant, err := listSegments(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) >= 7 || len(redundant) != 0 {
		t.Fatalf("after compaction: %d live, %d redundant", len(live), len(redundant))
	}
	// Simulate a crash after writing a merged segment but before deleting
	// its parts: a covering segment beside the parts it covers.
	all, _, _ := listSegments(ctx, store)
	var lines []byte
	for _, s := range all {
		rc, _, err := store.Get(ctx, s.key())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		lines = append(lines, b...)
	}
	cover := segment{first: 1, last: 7}
	if _, err := store.Put(ctx, cover.key(), bytesReader(lines), int64(len(lines))); err != nil {
		t.Fatal(err)
	}
	o2, _ := boot(t, store, 100, 3)
	if got := ids(o2.Events(Filter{})); fmt.Sprint(got) != "[1 2 3 4 5 6 7]" {
		t.Fatalf("replay with a covering segment = %v", got)
	}
	live, redundant, _ = listSegments(ctx, store)
	if len(live) != 1 || len(redundant) != 0 {
		t.Fatalf("covered segments not cleaned: live %v redundant %v", live, redundant)
	}
}

func TestParseSegment(t *testing.T) {
	s := segment{first: 12, last: 340}
	got, ok := parseSegment(s.key(), 5)
	if !ok || got.first != 12 || got.last != 340 || got.size != 5 {
		t.Fatalf("parse %s = %+v %v", s.key(), got, ok)
	}
	for _, bad := range []string{"_observer/events/x.jsonl", "_observer/events/5-3.jsonl", "other/1-2.jsonl", "_observer/events/1-2.txt"} {
		if _, ok := parseSegment(bad, 0); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
