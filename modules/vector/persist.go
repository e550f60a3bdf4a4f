package vector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"lakehouse/modules/storage"
)

// Object layout under the store (local disk or S3), per index:
//
//	_vectors/<name>/index.json             the spec (written at create, and when a model is recorded)
//	_vectors/<name>/snapshot.bin           the index at some WAL sequence S
//	_vectors/<name>/wal/<seq:020d>.seg     one object per acknowledged batch after S
//
// Every object goes through Store.Put, which is atomic (local: temp file,
// fsync, rename, fsync dir; S3: a single PUT), so a batch is durable
// before its 200 on either backend.
const vectorsPrefix = "_vectors/"

func indexPrefix(name string) string { return vectorsPrefix + name + "/" }
func specKey(name string) string     { return indexPrefix(name) + "index.json" }
func snapKey(name string) string     { return indexPrefix(name) + "snapshot.bin" }
func segKey(name string, seq uint64) string {
	return fmt.Sprintf("%swal/%020d.seg", indexPrefix(name), seq)
}

// listAll returns every key under prefix.
func listAll(ctx context.Context, st storage.Store, prefix string) ([]string, error) {
	var keys []string
	err := storage.Each(ctx, st, prefix, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	return keys, err
}

func (s *service) putSpec(ctx context.Context, spec IndexSpec) error {
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if _, err := s.store.Put(ctx, specKey(spec.Name), bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("vector: write spec of %q: %w", spec.Name, err)
	}
	return nil
}

// appendWAL makes a batch durable as the next segment. Call with writeMu.
func (s *service) appendWAL(ctx context.Context, ix *index, seg segment) error {
	seg.seq = ix.seq + 1
	data, err := encodeSegment(seg, ix.spec.Dim)
	if err != nil {
		return err
	}
	// The batch is acknowledged only after this Put returns; a cancelled
	// client must not leave a half-decided batch, so the Put ignores ctx
	// cancellation.
	if _, err := s.store.Put(context.WithoutCancel(ctx), segKey(ix.spec.Name, seg.seq), bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("vector: write WAL segment %d of %q: %w", seg.seq, ix.spec.Name, err)
	}
	ix.seq = seg.seq
	ix.walBytes += int64(len(data))
	ix.walSeqs = append(ix.walSeqs, seg.seq)
	return nil
}

// load reads every index from the store: snapshot, then the WAL segments
// after it. One index never stops the others, nor the server:
//
//   - an object whose content cannot be used (junk, a failed checksum, a
//     batch that cannot be applied) is quarantined — moved under
//     _vectors/<name>/quarantine/ with the reason beside it, logged, and
//     reported by Warnings — and the index starts with everything else;
//   - an index whose objects cannot be read (a storage failure) or were
//     written by a newer lakehouse is not loaded and its objects are left
//     untouched; Check reports it until a restart loads it.
//
// Only a failure to list the store at all fails the module.
func (s *service) load(ctx context.Context) error {
	keys, err := listAll(ctx, s.store, vectorsPrefix)
	if err != nil {
		return fmt.Errorf("vector: list %s: %w", vectorsPrefix, err)
	}
	s.rescore.clear() // each index below writes its file afresh
	byIndex := map[string][]string{}
	for _, k := range keys {
		name, _, ok := strings.Cut(strings.TrimPrefix(k, vectorsPrefix), "/")
		if ok {
			byIndex[name] = append(byIndex[name], k)
		}
	}
	names := make([]string, 0, len(byIndex))
	for n := range byIndex {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		start := time.Now()
		live, held := splitQuarantine(name, byIndex[name])
		q := &quarantineLog{s: s, name: name, stamp: start.UTC().Format("20060102T150405.000000000Z")}
		ix, err := s.loadIndex(ctx, name, live, q)
		s.noteQuarantine(ctx, name, held, q.reasons)
		if err != nil {
			s.log.Error("vector: index not loaded; its objects are left untouched", "index", name, "err", err)
			s.failed[name] = err
			continue
		}
		if ix == nil {
			continue
		}
		ix.quarantined = s.quarantined[name].count
		ix.retune(s.cfg.MaxEf)
		s.indexes[name] = ix
		s.log.Info("vector index loaded", "index", name, "length", ix.live, "wal_segments", len(ix.walSeqs),
			"quarantined", len(q.reasons), "elapsed", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}

// loadIndex loads one index from its objects (quarantine excluded). It
// returns nil, nil when there is no index to load, and an error only when
// the objects must be left as they are (storage failure, newer format).
func (s *service) loadIndex(ctx context.Context, name string, keys []string, q *quarantineLog) (*index, error) {
	if !slices.Contains(keys, specKey(name)) {
		if len(keys) > 0 {
			// A drop that crashed midway (the spec goes first): finish it.
			s.log.Warn("vector: removing leftovers of a dropped index", "index", name, "objects", len(keys))
			for _, k := range keys {
				_ = s.store.Delete(ctx, k)
			}
		}
		return nil, nil
	}
	spec, err := s.readSpec(ctx, name)
	if err != nil {
		if !quarantinable(err) {
			return nil, err
		}
		// Without its spec nothing of the index can be interpreted: set all
		// of it aside, so a new index of this name does not replay it.
		for _, k := range keys {
			if err := q.move(ctx, k, fmt.Errorf("the index spec %s is unreadable: %w", specKey(name), err)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	var ix *index
	if slices.Contains(keys, snapKey(name)) {
		ix, err = s.readSnapshotOf(ctx, name)
		if err == nil && (ix.spec.Name != spec.Name || ix.spec.Dim != spec.Dim || ix.spec.Metric != spec.Metric) {
			err = fmt.Errorf("%w: snapshot holds index %q (dimension %d, %s), the spec says %q (dimension %d, %s)",
				errCorrupt, ix.spec.Name, ix.spec.Dim, ix.spec.Metric, spec.Name, spec.Dim, spec.Metric)
		}
		if err != nil && ix != nil {
			release(ix.g)
		}
		if err != nil && !quarantinable(err) {
			return nil, err
		}
		if err != nil {
			// Start from the spec and replay every segment: the index then
			// holds everything but what only the snapshot held.
			if err := q.move(ctx, snapKey(name), err); err != nil {
				return nil, err
			}
			ix = nil
		} else {
			ix.spec.Model = spec.Model // the spec file is authoritative for the model
		}
	}
	if ix == nil {
		if ix, err = newIndex(spec, s.rescore); errors.Is(err, errStorage) {
			return nil, err // the local rescore file: leave the objects alone
		} else if err != nil {
			err = fmt.Errorf("%w: index spec: %v", errCorrupt, err)
			for _, k := range keys {
				if k != snapKey(name) { // already moved
					if err := q.move(ctx, k, err); err != nil {
						return nil, err
					}
				}
			}
			return nil, nil
		}
	}

	var seqs []uint64
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, indexPrefix(name)+"wal/")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(rest, ".seg"), 10, 64)
		if err != nil || !strings.HasSuffix(rest, ".seg") {
			s.log.Warn("vector: ignoring unexpected object", "key", k)
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		key := segKey(name, seq)
		if seq <= ix.snapSeq {
			_ = s.store.Delete(ctx, key) // covered by the snapshot; a compaction stopped before deleting it
			continue
		}
		seg, err := s.readSegment(ctx, key, ix.spec.Dim)
		if err == nil && seg.seq != seq {
			err = fmt.Errorf("%w: segment names sequence %d, holds %d", errCorrupt, seq, seg.seq)
		}
		if err == nil {
			err = ix.replay(seg)
		}
		if err != nil {
			if !quarantinable(err) {
				return nil, fmt.Errorf("WAL segment %s: %w", key, err)
			}
			if err := q.move(ctx, key, err); err != nil {
				return nil, err
			}
			// The sequence stays taken: the next batch must not reuse the
			// number of a segment that may be restored.
			ix.seq = max(ix.seq, seq)
			continue
		}
		ix.seq = seq
		ix.walSeqs = append(ix.walSeqs, seq)
		ix.walBytes += int64(len(seg.items)*(ix.spec.Dim*4+32) + len(seg.ids)*32)
	}
	// A graph saved by a build without the repair pass (or replayed from
	// small batches) may hold orphans: re-link them before serving.
	if n := ix.g.Repair(); n > 0 {
		s.log.Info("vector: re-linked unreachable graph nodes", "index", name, "nodes", n)
	}
	return ix, nil
}

// replay applies one decoded segment, checking first what applying needs
// (ids, and the vectors Add refuses), so a batch applies whole or not at
// all.
func (ix *index) replay(seg segment) error {
	switch seg.op {
	case opAdd:
		for _, it := range seg.items {
			if it.ID == "" {
				return fmt.Errorf("%w: an item has an empty id", errCorrupt)
			}
			if err := checkVector(ix.metric, it.Vector); err != nil {
				return fmt.Errorf("%w: item %q cannot be applied: %v", errCorrupt, it.ID, err)
			}
		}
		if err := ix.applyAdd(seg.items); err != nil {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
	case opDelete:
		ix.applyDelete(seg.ids)
	}
	return nil
}

// readSnapshotOf reads the snapshot of index name.
func (s *service) readSnapshotOf(ctx context.Context, name string) (*index, error) {
	rc, info, err := s.store.Get(ctx, snapKey(name))
	if err != nil {
		return nil, ioFailure(fmt.Errorf("read snapshot %s: %w", snapKey(name), err))
	}
	defer rc.Close()
	tr := &ioErrReader{r: rc}
	size := info.Size
	if size <= 0 {
		size = -1
	}
	ix, err := readSnapshot(tr, size, s.rescore)
	if tr.err != nil {
		if ix != nil {
			release(ix.g)
		}
		return nil, ioFailure(fmt.Errorf("read snapshot %s: %w", snapKey(name), tr.err))
	}
	if err != nil && !errors.Is(err, errCorrupt) && !errors.Is(err, errNewer) && !errors.Is(err, errStorage) {
		err = fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return ix, err
}

// maxSpecBytes bounds the spec read at start-up (a spec is a few hundred
// bytes; a larger object is not one).
const maxSpecBytes = 1 << 20

func (s *service) readSpec(ctx context.Context, name string) (IndexSpec, error) {
	var spec IndexSpec
	rc, _, err := s.store.Get(ctx, specKey(name))
	if err != nil {
		return spec, ioFailure(fmt.Errorf("read spec of %q: %w", name, err))
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxSpecBytes+1))
	if err != nil {
		return spec, ioFailure(fmt.Errorf("read spec of %q: %w", name, err))
	}
	if len(data) > maxSpecBytes {
		return spec, fmt.Errorf("%w: spec of %q is larger than %d bytes", errCorrupt, name, maxSpecBytes)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return spec, fmt.Errorf("%w: spec of %q: %v", errCorrupt, name, err)
	}
	if spec.Name != name {
		return spec, fmt.Errorf("%w: spec under %q names index %q", errCorrupt, name, spec.Name)
	}
	return spec, nil
}

func (s *service) readSegment(ctx context.Context, key string, dim int) (segment, error) {
	rc, _, err := s.store.Get(ctx, key)
	if err != nil {
		return segment{}, ioFailure(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return segment{}, ioFailure(err)
	}
	seg, err := decodeSegment(data, dim)
	if err != nil && !errors.Is(err, errCorrupt) && !errors.Is(err, errNewer) {
		err = fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return seg, err
}
