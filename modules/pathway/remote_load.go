package pathway

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"time"

	"lakehouse/modules/storage"
)

// mirrorWriter copies replayed object bytes into the local copy, keeping
// its length and CRC. It never fails the read: the copy is a cache, and a
// local write error only stops it being kept.
type mirrorWriter struct {
	f    io.Writer // nil: only count and hash
	n    int64
	crc  uint32
	last byte
	err  error
}

func (w *mirrorWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if w.f != nil && w.err == nil {
		if _, err := w.f.Write(b); err != nil {
			w.err = err
		}
	}
	w.n += int64(len(b))
	w.crc = crc32.Update(w.crc, castagnoli, b)
	w.last = b[len(b)-1]
	return len(b), nil
}

// endLine keeps each object's lines apart in the copy when an object does
// not end with a newline (they are replayed one object at a time).
func (w *mirrorWriter) endLine() {
	if w.n > 0 && w.last != '\n' {
		w.Write([]byte{'\n'})
	}
}

// remoteLoad is what a start over the bucket rebuilt.
type remoteLoad struct {
	st     *state
	sh     *shipper
	rs     ReplayStats
	source string // "cache+bucket" or "bucket"
}

// loadRemote rebuilds the state from the bucket: from the local copy at
// path and the segments after it when the copy's stamp matches the
// bucket, else from the newest snapshot and every segment after it. It
// leaves at path a copy of exactly what it replayed, and deletes what a
// compaction cut short left behind. The caller holds the log's lock.
func loadRemote(ctx context.Context, store storage.Store, path string, log *slog.Logger) (*remoteLoad, error) {
	start := time.Now()
	lay, err := listRemote(ctx, store, log)
	if err != nil {
		return nil, err
	}
	sh := &shipper{store: store, log: log, stampPath: path + ".stamp.json", mirrorOK: true,
		snap: lay.snap, segs: lay.segs, seq: lay.snap.seq}
	if n := len(lay.segs); n > 0 {
		sh.seq = lay.segs[n-1].seq
	}
	sh.live.Store(int64(len(lay.segs)))

	if _, err := os.Stat(sh.stampPath); os.IsNotExist(err) {
		// No stamp: a log at path was written with the local backend and
		// is the only record of what it holds; never overwrite it.
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			if len(lay.segs) == 0 && lay.snap.seq == 0 {
				return importLocal(ctx, sh, path, log)
			}
			aside := path + ".local-" + time.Now().UTC().Format("20060102T150405Z")
			if err := os.Rename(path, aside); err != nil {
				return nil, fmt.Errorf("pathway: set aside the local log before rebuilding from the bucket: %w", err)
			}
			log.Warn("pathway: the bucket already holds a log; the local log written before storage.backend was s3 is set aside, not merged",
				"kept_at", aside)
		}
	}
	out := &remoteLoad{sh: sh, source: "cache+bucket"}
	var stamp cacheStamp
	var ok bool
	out.st, out.rs, stamp, ok = loadCache(path, sh.stampPath, lay)
	var f *os.File
	dst := path
	if ok {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	} else {
		out.source = "bucket"
		out.st, out.rs = newState(), ReplayStats{}
		stamp = cacheStamp{SnapSeq: lay.snap.seq, SnapETag: lay.snap.etag, SegSeq: lay.snap.seq}
		// Built aside and renamed into place, so a crash midway leaves no
		// half copy under the log's name.
		dst = path + compactSuffix
		f, err = os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("pathway: open the local copy of the log: %w", err)
	}
	mw := &mirrorWriter{f: f, n: stamp.Bytes, crc: stamp.CRC, last: '\n'}
	fail := func(err error) (*remoteLoad, error) {
		f.Close()
		if dst != path {
			os.Remove(dst)
		}
		return nil, err
	}
	if !ok && lay.snap.seq > 0 {
		if err := replayObject(ctx, store, remoteSnapKey(lay.snap.seq), out.st, mw, &out.rs, log); err != nil {
			return fail(err)
		}
	}
	fetched := 0
	for _, s := range lay.segs {
		if s.seq <= stamp.SegSeq {
			continue
		}
		if err := replayObject(ctx, store, remoteSegKey(s.seq), out.st, mw, &out.rs, log); err != nil {
			return fail(err)
		}
		stamp.SegSeq, stamp.SegETag = s.seq, s.etag
		fetched++
	}
	cerr := f.Close()
	if mw.err == nil {
		mw.err = cerr
	}
	stamp.Bytes, stamp.CRC = mw.n, mw.crc
	sh.stamp = stamp
	// The stamp goes first: a file at path without one is taken for a log
	// written with the local backend, which is never overwritten.
	if mw.err == nil {
		mw.err = sh.writeStamp()
	}
	if mw.err == nil && dst != path {
		mw.err = os.Rename(dst, path)
	}
	if mw.err != nil {
		if dst != path {
			os.Remove(dst)
		}
		sh.mirrorFailed(mw.err)
	}
	deleteKeys(ctx, store, lay.stale, log)
	log.Info("pathway: log rebuilt from the bucket", "source", out.source, "snapshot_seq", lay.snap.seq,
		"segments", len(lay.segs), "fetched_segments", fetched, "stale_deleted", len(lay.stale),
		"elapsed", time.Since(start).Round(time.Millisecond).String())
	return out, nil
}

// replayObject replays one bucket object into st, copying its bytes to mw.
func replayObject(ctx context.Context, store storage.Store, key string, st *state, mw *mirrorWriter, rs *ReplayStats, log *slog.Logger) error {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("pathway: read %s from the bucket: %w", key, err)
	}
	defer rc.Close()
	r, err := replay(io.TeeReader(rc, mw), st, log)
	rs.Lines += r.Lines
	rs.Applied += r.Applied
	rs.Corrupted += r.Corrupted
	rs.ApplyErrors += r.ApplyErrors
	mw.endLine()
	if err != nil {
		return fmt.Errorf("pathway: read %s from the bucket: %w", key, err)
	}
	return nil
}

// loadCache replays the local copy when its stamp names the bucket's
// current snapshot and a segment the bucket still holds, and the copy's
// first stamp.Bytes bytes match the stamp's CRC and replay cleanly. It
// cuts off what follows them (a batch written after the stamp).
func loadCache(path, stampPath string, lay remoteLayout) (*state, ReplayStats, cacheStamp, bool) {
	stamp, ok := readStamp(stampPath)
	if !ok || stamp.SnapSeq != lay.snap.seq || stamp.SnapETag != lay.snap.etag {
		return nil, ReplayStats{}, stamp, false
	}
	if stamp.SegSeq != stamp.SnapSeq {
		found := false
		for _, s := range lay.segs {
			if s.seq == stamp.SegSeq {
				found = s.etag == stamp.SegETag
				break
			}
		}
		if !found {
			return nil, ReplayStats{}, stamp, false
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, ReplayStats{}, stamp, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() < stamp.Bytes {
		return nil, ReplayStats{}, stamp, false
	}
	st := newState()
	h := &mirrorWriter{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, err := replay(io.TeeReader(io.LimitReader(f, stamp.Bytes), h), st, quiet)
	if err != nil || h.n != stamp.Bytes || h.crc != stamp.CRC || rs.Corrupted > 0 || rs.ApplyErrors > 0 || rs.TornTail {
		return nil, ReplayStats{}, stamp, false
	}
	if err := f.Truncate(stamp.Bytes); err != nil {
		return nil, ReplayStats{}, stamp, false
	}
	return st, rs, stamp, true
}

// importLocal moves a log written with the local backend into an empty
// bucket as its first segment (the backend switched from local to s3), so
// what it acknowledged stays acknowledged; the file becomes the copy.
func importLocal(ctx context.Context, sh *shipper, path string, log *slog.Logger) (*remoteLoad, error) {
	st := newState()
	rs, err := replayFile(path, st, log)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pathway: open the local log to import it: %w", err)
	}
	defer f.Close()
	if rs.TornTail {
		// Keep the torn line apart from the next batch, as on local disk.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return nil, fmt.Errorf("pathway: terminate torn log tail: %w", err)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pathway: stat the local log: %w", err)
	}
	h := &mirrorWriter{}
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return nil, fmt.Errorf("pathway: read the local log to import it: %w", err)
	}
	info, err := sh.store.Put(ctx, remoteSegKey(1), io.NewSectionReader(f, 0, fi.Size()), fi.Size())
	if err != nil {
		return nil, fmt.Errorf("pathway: import the local log into the bucket: %w", err)
	}
	o := remoteObj{seq: 1, size: fi.Size(), etag: normETag(info.ETag)}
	sh.seq, sh.segs = 1, []remoteObj{o}
	sh.live.Store(1)
	sh.stamp = cacheStamp{SegSeq: 1, SegETag: o.etag, Bytes: h.n, CRC: h.crc}
	if err := sh.writeStamp(); err != nil {
		sh.mirrorFailed(err)
	}
	log.Info("pathway: imported the local log into the bucket", "bytes", fi.Size(), "traces", len(st.traces))
	return &remoteLoad{st: st, sh: sh, rs: rs, source: "local import"}, nil
}
