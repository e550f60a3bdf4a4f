package pathway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"lakehouse/modules/storage"
)

// With an object-store backend (storage.backend = "s3") the bucket, not
// the node's disk, holds the log:
//
//	_pathway/log/<seq:020d>.jsonl        one object per group commit: that batch's JSONL lines
//	_pathway/snapshot/<seq:020d>.jsonl   one add record per trace: the state as of segment seq
//
// The group-commit leader PUTs the batch as the next segment and only then
// are the writers of that batch acknowledged, so one PUT carries every
// write that queued behind the previous one (as one fsync does on local
// disk). The state is the newest snapshot plus the segments after it, in
// sequence order. Compaction PUTs a snapshot first and deletes what it
// covers after; a start that finds leftovers of a compaction cut short
// (older snapshots, covered segments) ignores and deletes them.
//
// The local log file is then a cache: a byte copy of the snapshot and
// segments it was built from, written after the PUT and never fsynced,
// with a stamp beside it (<log>.stamp.json) naming the last snapshot and
// segment it holds, its length and CRC. A start whose stamp matches the
// bucket replays the local copy and fetches only newer segments; any
// mismatch (another node wrote since, a torn or edited file, a new data
// dir) rebuilds the copy from the bucket.
const (
	remotePrefix     = "_pathway/"
	remoteLogPrefix  = remotePrefix + "log/"
	remoteSnapPrefix = remotePrefix + "snapshot/"
	// maxRemoteSegments triggers a compaction once this many segments
	// follow the snapshot, so a new node's start reads a bounded number
	// of objects whatever pathway.compact_bytes says.
	maxRemoteSegments = 1024
)

func remoteSegKey(seq uint64) string  { return fmt.Sprintf("%s%020d.jsonl", remoteLogPrefix, seq) }
func remoteSnapKey(seq uint64) string { return fmt.Sprintf("%s%020d.jsonl", remoteSnapPrefix, seq) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// remoteObj is one snapshot or segment in the bucket.
type remoteObj struct {
	seq  uint64
	size int64
	etag string
}

// remoteLayout is what a listing of _pathway/ found.
type remoteLayout struct {
	snap  remoteObj   // newest snapshot (seq 0 = none)
	segs  []remoteObj // segments after it, in sequence order
	stale []string    // older snapshots and segments the snapshot covers
}

// parseSeqKey reads the sequence from "<prefix><seq:020d>.jsonl".
func parseSeqKey(key, prefix string) (uint64, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	name, ok = strings.CutSuffix(name, ".jsonl")
	if !ok || len(name) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(name, 10, 64)
	return seq, err == nil && seq > 0
}

func normETag(e string) string { return strings.Trim(e, `"`) }

// listRemote lists _pathway/ and sorts it into the live log and leftovers.
func listRemote(ctx context.Context, st storage.Store, log *slog.Logger) (remoteLayout, error) {
	var lay remoteLayout
	var snaps, segs []remoteObj
	err := storage.Each(ctx, st, remotePrefix, func(o storage.ObjectInfo) error {
		ro := remoteObj{size: o.Size, etag: normETag(o.ETag)}
		var ok bool
		if ro.seq, ok = parseSeqKey(o.Key, remoteLogPrefix); ok {
			segs = append(segs, ro)
		} else if ro.seq, ok = parseSeqKey(o.Key, remoteSnapPrefix); ok {
			snaps = append(snaps, ro)
		} else {
			log.Warn("pathway: ignoring unexpected object", "key", o.Key)
		}
		return nil
	})
	if err != nil {
		return lay, fmt.Errorf("pathway: the bucket: %w", err)
	}
	// Keys are zero-padded, so listing order is sequence order.
	for i, s := range snaps {
		if i < len(snaps)-1 {
			lay.stale = append(lay.stale, remoteSnapKey(s.seq))
		} else {
			lay.snap = s
		}
	}
	next := lay.snap.seq + 1
	for _, s := range segs {
		if s.seq <= lay.snap.seq {
			lay.stale = append(lay.stale, remoteSegKey(s.seq))
			continue
		}
		if s.seq != next {
			// Only a hand-deleted object makes a hole: say so, keep the rest.
			log.Error("pathway: segments missing from the bucket; their writes are lost", "from", next, "to", s.seq-1)
		}
		lay.segs = append(lay.segs, s)
		next = s.seq + 1
	}
	return lay, nil
}

// cacheStamp says which prefix of the bucket's log the local copy holds.
type cacheStamp struct {
	SnapSeq  uint64 `json:"snap_seq"`
	SnapETag string `json:"snap_etag,omitempty"`
	SegSeq   uint64 `json:"seg_seq"`
	SegETag  string `json:"seg_etag,omitempty"`
	Bytes    int64  `json:"bytes"`
	CRC      uint32 `json:"crc32c"`
}

// shipper puts group-commit batches into the bucket and keeps the local
// copy. Its fields are touched only by whoever owns the persistor's flush
// (the leader, or a compaction inside persistor.exclusive).
type shipper struct {
	store     storage.Store
	log       *slog.Logger
	stampPath string

	seq      uint64      // last segment shipped (or the snapshot's sequence)
	snap     remoteObj   // the current snapshot (seq 0 = none)
	segs     []remoteObj // live segments after it
	stamp    cacheStamp  // what the local copy holds
	mirrorOK bool        // false once a local write failed: the copy is no longer kept
	live     atomic.Int64
}

// ship makes batch durable as the next segment, then appends it to the
// local copy. Only the PUT's failure fails the batch: the local copy is a
// cache, and losing it costs a rebuild from the bucket at the next start.
func (sh *shipper) ship(f *os.File, batch []byte) error {
	seq := sh.seq + 1
	// Many writers wait on this batch; none of them can cancel it.
	info, err := sh.store.Put(context.Background(), remoteSegKey(seq), bytes.NewReader(batch), int64(len(batch)))
	if err != nil {
		return fmt.Errorf("put segment %s: %w", remoteSegKey(seq), err)
	}
	o := remoteObj{seq: seq, size: int64(len(batch)), etag: normETag(info.ETag)}
	sh.seq = seq
	sh.segs = append(sh.segs, o)
	sh.live.Store(int64(len(sh.segs)))
	if !sh.mirrorOK {
		return nil
	}
	if _, err := f.Write(batch); err != nil {
		sh.mirrorFailed(err)
		return nil
	}
	sh.stamp.Bytes += int64(len(batch))
	sh.stamp.CRC = crc32.Update(sh.stamp.CRC, castagnoli, batch)
	sh.stamp.SegSeq, sh.stamp.SegETag = o.seq, o.etag
	if err := sh.writeStamp(); err != nil {
		sh.mirrorFailed(err)
	}
	return nil
}

// mirrorFailed stops keeping the local copy and marks its stamp unusable,
// so the next start rebuilds the copy from the bucket. (Should even that
// write fail, the old stamp still describes a prefix of the file.) The
// stamp is not removed: a log file without a stamp is one the local
// backend wrote, which a start imports or sets aside, never overwrites.
func (sh *shipper) mirrorFailed(err error) {
	sh.mirrorOK = false
	_ = os.WriteFile(sh.stampPath, []byte(`{"bytes":-1}`), 0o644)
	sh.log.Warn("pathway: the local copy of the log is no longer kept (the bucket holds every write; the next start rebuilds the copy)",
		"err", err)
}

// writeStamp rewrites the stamp. It is not fsynced: a torn stamp does not
// parse, and an unparsable stamp only means a rebuild from the bucket.
func (sh *shipper) writeStamp() error {
	b, err := json.Marshal(sh.stamp)
	if err != nil {
		return err
	}
	return os.WriteFile(sh.stampPath, b, 0o644)
}

// readStamp reads the stamp; ok is false when there is none usable.
func readStamp(path string) (cacheStamp, bool) {
	var st cacheStamp
	b, err := os.ReadFile(path)
	if err != nil {
		return st, false
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Bytes < 0 {
		return st, false
	}
	return st, true
}

// adoptSnapshot records a snapshot PUT at seq and returns the keys it made
// stale (the segments it covers and the previous snapshot), to delete.
func (sh *shipper) adoptSnapshot(seq uint64, size int64, etag string) []string {
	var stale []string
	if sh.snap.seq > 0 {
		stale = append(stale, remoteSnapKey(sh.snap.seq))
	}
	keep := sh.segs[:0]
	for _, s := range sh.segs {
		if s.seq <= seq {
			stale = append(stale, remoteSegKey(s.seq))
		} else {
			keep = append(keep, s)
		}
	}
	sh.segs = keep
	sh.snap = remoteObj{seq: seq, size: size, etag: normETag(etag)}
	sh.live.Store(int64(len(sh.segs)))
	return stale
}

// deleteKeys removes objects a snapshot made stale; a failure only leaves
// a leftover the next start deletes.
func deleteKeys(ctx context.Context, st storage.Store, keys []string, log *slog.Logger) {
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
			log.Warn("pathway: delete compacted object (the next start retries)", "key", k, "err", err)
		}
	}
}
