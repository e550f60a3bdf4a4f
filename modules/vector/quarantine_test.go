package vector

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"

	"lakehouse/modules/storage"
)

func putRaw(t *testing.T, st storage.Store, key string, data []byte) {
	t.Helper()
	if _, err := st.Put(ctxb(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func putSegment(t *testing.T, st storage.Store, name string, dim int, seg segment) {
	t.Helper()
	data, err := encodeSegment(seg, dim)
	if err != nil {
		t.Fatal(err)
	}
	putRaw(t, st, segKey(name, seg.seq), data)
}

func quarantineKeys(t *testing.T, s *service, name string) []string {
	t.Helper()
	keys, err := listAll(ctxb(), s.store, quarantinePrefix(name))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// loadFresh starts a new service on s's store; load must not fail.
func loadFresh(t *testing.T, s *service) *service {
	t.Helper()
	s.wg.Wait()
	s2 := newService(s.store, nil, s.cfg, quiet)
	if err := s2.load(ctxb()); err != nil {
		t.Fatalf("start-up failed: %v", err)
	}
	return s2
}

// A poison record that reached the WAL (as the unchecked cosine vector
// [1e-30,1e-30,1e-30] did before validation matched apply) no longer
// bricks the start: its segment is quarantined with the reason, every other
// batch is applied, the quarantine is reported until removed, and the next
// batch does not reuse its sequence.
func TestPoisonSegmentIsQuarantinedAndTheIndexStarts(t *testing.T) {
	s := newTestService(t, nil, nil)
	mustCreate(t, s, IndexSpec{Name: "p", Dim: 3})
	mustCreate(t, s, IndexSpec{Name: "other", Dim: 3})
	if err := s.Add(ctxb(), "p", []Item{{ID: "a", Vector: []float32{1, 0, 0}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctxb(), "other", []Item{{ID: "o", Vector: []float32{0, 1, 0}}}); err != nil {
		t.Fatal(err)
	}
	// Written as the old code did: validated by the old rules, then durable.
	putSegment(t, s.store, "p", 3, segment{op: opAdd, seq: 2, items: []Item{
		{ID: "b", Vector: []float32{0, 1, 0}}, {ID: "poison", Vector: []float32{1e-30, 1e-30, 1e-30}}}})
	putSegment(t, s.store, "p", 3, segment{op: opAdd, seq: 3, items: []Item{{ID: "c", Vector: []float32{0, 0, 1}}}})

	s2 := loadFresh(t, s)
	info, err := s2.Info(ctxb(), "p")
	if err != nil || info.Length != 2 || info.Quarantined != 1 {
		t.Fatalf("index p after start: %+v %v (want a and c, one object quarantined)", info, err)
	}
	if info, _ := s2.Info(ctxb(), "other"); info.Length != 1 {
		t.Fatalf("other index: %+v", info)
	}
	w := s2.warnings()
	if len(w) != 1 || !strings.Contains(w[0], `index "p"`) || !strings.Contains(w[0], `"poison"`) || !strings.Contains(w[0], "underflows") {
		t.Fatalf("warnings: %v", w)
	}
	if err := s2.check(); err != nil {
		t.Fatalf("a quarantine is a warning, not a failed check: %v", err)
	}
	q := quarantineKeys(t, s2, "p")
	if len(q) != 2 || !slices.ContainsFunc(q, func(k string) bool { return strings.HasSuffix(k, "/wal/00000000000000000002.seg") }) {
		t.Fatalf("quarantine holds %v", q)
	}
	if slices.Contains(walKeys(t, s2, "p"), segKey("p", 2)) {
		t.Fatal("the poison segment is still in the WAL")
	}
	// The quarantined copy is the original, byte for byte.
	rc, _, err := s2.store.Get(ctxb(), q[0])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if seg, err := decodeSegment(data, 3); err != nil || len(seg.items) != 2 {
		t.Fatalf("quarantined copy: %v", err)
	}

	// The index takes writes, which use sequence 4, and survives restarts;
	// the earlier quarantine is still reported with its reason.
	if err := s2.Add(ctxb(), "p", []Item{{ID: "d", Vector: []float32{1, 1, 0}}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(walKeys(t, s2, "p"), segKey("p", 4)) {
		t.Fatalf("next batch: %v", walKeys(t, s2, "p"))
	}
	s3 := loadFresh(t, s2)
	if info, _ := s3.Info(ctxb(), "p"); info.Length != 3 || info.Quarantined != 1 {
		t.Fatalf("after a second restart: %+v", info)
	}
	if w := s3.warnings(); len(w) != 1 || !strings.Contains(w[0], "underflows") {
		t.Fatalf("warnings after a second restart: %v", w)
	}
	// Dropping the index removes its quarantine and the warning.
	if err := s3.Drop(ctxb(), "p"); err != nil {
		t.Fatal(err)
	}
	if w := s3.warnings(); len(w) != 0 || len(quarantineKeys(t, s3, "p")) != 0 {
		t.Fatalf("after drop: %v %v", w, quarantineKeys(t, s3, "p"))
	}
}

// Junk bytes written as WAL segments (in the middle and at the end), a junk
// snapshot, and a junk spec do not stop the start: each is quarantined and
// everything else loads.
func TestJunkObjectsAreQuarantined(t *testing.T) {
	s := newTestService(t, nil, nil)
	for _, n := range []string{"w", "snap", "spec", "fine"} {
		mustCreate(t, s, IndexSpec{Name: n, Dim: 2})
		for i := 0; i < 3; i++ {
			if err := s.Add(ctxb(), n, []Item{{ID: fmt.Sprint(i), Vector: []float32{1, float32(i)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ix, _ := s.get("snap")
	if err := s.compact(ctxb(), ix); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctxb(), "snap", []Item{{ID: "after", Vector: []float32{2, 1}}}); err != nil {
		t.Fatal(err)
	}
	junk := []byte("this is not a WAL segment at all, just junk bytes")
	putRaw(t, s.store, segKey("w", 2), junk)                     // middle
	putRaw(t, s.store, segKey("w", 9), []byte("LHVW\x01\x01xx")) // tail
	putRaw(t, s.store, snapKey("snap"), junk)
	putRaw(t, s.store, specKey("spec"), []byte("{not json"))

	s2 := loadFresh(t, s)
	if info, err := s2.Info(ctxb(), "w"); err != nil || info.Length != 2 || info.Quarantined != 2 {
		t.Fatalf("w: %+v %v", info, err)
	}
	// The snapshot is gone, so is what only it held; the WAL after it loads.
	if info, err := s2.Info(ctxb(), "snap"); err != nil || info.Length != 1 || info.Quarantined != 1 {
		t.Fatalf("snap: %+v %v", info, err)
	}
	if _, err := s2.Info(ctxb(), "spec"); !errors.Is(err, ErrIndexNotFound) {
		t.Fatalf("an index without a readable spec cannot load: %v", err)
	}
	if info, err := s2.Info(ctxb(), "fine"); err != nil || info.Length != 3 || info.Quarantined != 0 {
		t.Fatalf("fine: %+v %v", info, err)
	}
	w := strings.Join(s2.warnings(), "\n")
	for _, want := range []string{`index "w": 2 object(s)`, `index "snap": 1 object(s)`, `index "spec": 4 object(s)`, "bad magic", "unreadable"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	// The name is free again; the new index does not inherit the old WAL,
	// and the quarantine stays until someone looks at it.
	mustCreate(t, s2, IndexSpec{Name: "spec", Dim: 2})
	if err := s2.Add(ctxb(), "spec", []Item{{ID: "new", Vector: []float32{1, 1}}}); err != nil {
		t.Fatal(err)
	}
	s3 := loadFresh(t, s2)
	if info, _ := s3.Info(ctxb(), "spec"); info.Length != 1 || info.Quarantined != 4 {
		t.Fatalf("recreated spec: %+v", info)
	}
	if info, _ := s3.Info(ctxb(), "w"); info.Length != 2 || info.Quarantined != 2 {
		t.Fatalf("w after a second start: %+v", info)
	}
}

// A snapshot header that claims more nodes than its bytes can hold is
// refused before anything is allocated for it.
func TestSnapshotCountsBoundedBySize(t *testing.T) {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString(snapMagic)
	binary.Write(&b, le, uint32(snapVersion))
	binary.Write(&b, le, uint64(1))
	spec := []byte(`{"name":"x","dimension":4,"distance":"cosine","m":16}`)
	binary.Write(&b, le, uint32(len(spec)))
	b.Write(spec)
	binary.Write(&b, le, uint32(1<<30)) // nodes
	if _, err := readSnapshot(bytes.NewReader(b.Bytes()), int64(b.Len()), nil); !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), "node count") {
		t.Fatalf("node count beyond the file: %v", err)
	}
}

// failingStore fails every Get under one prefix, as a storage outage does.
type failingStore struct {
	storage.Store
	prefix string
}

func (f failingStore) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if strings.HasPrefix(key, f.prefix) {
		return nil, storage.ObjectInfo{}, errors.New("connection reset by peer")
	}
	return f.Store.Get(ctx, key)
}

// An index whose objects cannot be read (storage failure) or were written
// by a newer lakehouse is not loaded and left untouched; the others load,
// Check reports it, and its name cannot be taken over meanwhile.
func TestUnreadableIndexIsLeftAloneAndReported(t *testing.T) {
	s := newTestService(t, nil, nil)
	for _, n := range []string{"down", "newer", "up"} {
		mustCreate(t, s, IndexSpec{Name: n, Dim: 2})
		if err := s.Add(ctxb(), n, []Item{{ID: "a", Vector: []float32{1, 2}}}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := encodeSegment(segment{op: opAdd, seq: 2, items: []Item{{ID: "b", Vector: []float32{2, 1}}}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	data[4] = walVersionText + 1 // a future format, checksum fixed up
	binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], castagnoli))
	putRaw(t, s.store, segKey("newer", 2), data)
	before, _ := listAll(ctxb(), s.store, vectorsPrefix)

	s2 := newService(failingStore{s.store, indexPrefix("down")}, nil, s.cfg, quiet)
	if err := s2.load(ctxb()); err != nil {
		t.Fatalf("one unreadable index must not fail the start: %v", err)
	}
	if info, err := s2.Info(ctxb(), "up"); err != nil || info.Length != 1 {
		t.Fatalf("up: %+v %v", info, err)
	}
	err = s2.check()
	if err == nil || !strings.Contains(err.Error(), `"down"`) || !strings.Contains(err.Error(), `"newer"`) ||
		!strings.Contains(err.Error(), "newer lakehouse") || strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("check: %v", err)
	}
	if _, err := s2.Create(ctxb(), IndexSpec{Name: "down", Dim: 2}); !errors.Is(err, ErrIndexExists) {
		t.Fatalf("create over an unloaded index: %v", err)
	}
	after, _ := listAll(ctxb(), s.store, vectorsPrefix)
	if !slices.Equal(before, after) {
		t.Fatalf("objects changed:\n%v\n%v", before, after)
	}
	if w := s2.warnings(); len(w) != 0 {
		t.Fatalf("nothing is quarantined: %v", w)
	}
	// Storage back: everything loads.
	if s3 := loadFresh(t, s); s3.check() == nil || !strings.Contains(s3.check().Error(), "newer") {
		t.Fatalf("newer segment still reported: %v", s3.check())
	} else if info, err := s3.Info(ctxb(), "down"); err != nil || info.Length != 1 {
		t.Fatalf("down after recovery: %+v %v", info, err)
	}
}
