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
	cursor := ""
	for {
		page, err := st.List(ctx, prefix, cursor, 1000)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if page.Cursor == "" {
			return keys, nil
		}
		cursor = page.Cursor
	}
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

// load reads every index from the store: snapshot, then WAL segments after
// it. A segment that fails its checksum is a torn write only when it is
// the last one: it was never acknowledged, so it is dropped. A bad segment
// followed by good ones means acknowledged data is damaged: that is an
// error, and the index refuses to load rather than silently lose it.
func (s *service) load(ctx context.Context) error {
	keys, err := listAll(ctx, s.store, vectorsPrefix)
	if err != nil {
		return fmt.Errorf("vector: list %s: %w", vectorsPrefix, err)
	}
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
		ix, err := s.loadIndex(ctx, name, byIndex[name])
		if err != nil {
			return err
		}
		if ix == nil {
			continue
		}
		s.indexes[name] = ix
		s.log.Info("vector index loaded", "index", name, "length", ix.live, "wal_segments", len(ix.walSeqs),
			"elapsed", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}

func (s *service) loadIndex(ctx context.Context, name string, keys []string) (*index, error) {
	if !slices.Contains(keys, specKey(name)) {
		// A drop that crashed midway (the spec goes first): finish it.
		s.log.Warn("vector: removing leftovers of a dropped index", "index", name, "objects", len(keys))
		for _, k := range keys {
			_ = s.store.Delete(ctx, k)
		}
		return nil, nil
	}
	spec, err := s.readSpec(ctx, name)
	if err != nil {
		return nil, err
	}
	var ix *index
	if slices.Contains(keys, snapKey(name)) {
		rc, _, err := s.store.Get(ctx, snapKey(name))
		if err != nil {
			return nil, fmt.Errorf("vector: load snapshot of %q: %w", name, err)
		}
		ix, err = readSnapshot(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("vector: load snapshot of %q: %w", name, err)
		}
		ix.spec.Model = spec.Model // the spec file is authoritative for the model
	} else if ix, err = newIndex(spec); err != nil {
		return nil, fmt.Errorf("vector: index %q: %w", name, err)
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
	for i, seq := range seqs {
		key := segKey(name, seq)
		if seq <= ix.snapSeq {
			_ = s.store.Delete(ctx, key) // covered by the snapshot; a compaction stopped before deleting it
			continue
		}
		seg, err := s.readSegment(ctx, key, ix.spec.Dim)
		if err == nil && seg.seq != seq {
			err = fmt.Errorf("%w: segment names sequence %d, holds %d", errCorrupt, seq, seg.seq)
		}
		if err != nil {
			if errors.Is(err, errCorrupt) && i == len(seqs)-1 {
				s.log.Warn("vector: dropping torn last WAL segment (never acknowledged)", "index", name, "key", key, "err", err)
				_ = s.store.Delete(ctx, key)
				break
			}
			return nil, fmt.Errorf("vector: index %q: WAL segment %s: %w (acknowledged data is damaged; restore it or move it aside to start without it)", name, key, err)
		}
		switch seg.op {
		case opAdd:
			err = ix.applyAdd(seg.items)
		case opDelete:
			ix.applyDelete(seg.ids)
		}
		if err != nil {
			return nil, fmt.Errorf("vector: index %q: replay segment %d: %w", name, seq, err)
		}
		ix.seq = seq
		ix.walSeqs = append(ix.walSeqs, seq)
		ix.walBytes += int64(len(seg.items)*(ix.spec.Dim*4+32) + len(seg.ids)*32)
	}
	return ix, nil
}

func (s *service) readSpec(ctx context.Context, name string) (IndexSpec, error) {
	var spec IndexSpec
	rc, _, err := s.store.Get(ctx, specKey(name))
	if err != nil {
		return spec, fmt.Errorf("vector: read spec of %q: %w", name, err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&spec); err != nil {
		return spec, fmt.Errorf("vector: read spec of %q: %w", name, err)
	}
	if spec.Name != name {
		return spec, fmt.Errorf("vector: spec under %q names index %q", name, spec.Name)
	}
	return spec, nil
}

func (s *service) readSegment(ctx context.Context, key string, dim int) (segment, error) {
	rc, _, err := s.store.Get(ctx, key)
	if err != nil {
		return segment{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return segment{}, err
	}
	return decodeSegment(data, dim)
}
