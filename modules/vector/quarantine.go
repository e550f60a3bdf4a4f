package vector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Quarantine: an object of an index whose content cannot be used at
// start-up is moved to
//
//	_vectors/<name>/quarantine/<start time>/<its path under the index>
//
// with <that key>.reason holding why, instead of stopping the start (one
// bad batch must not take every index, or the server, down) or deleting
// it (it may be acknowledged data an operator wants back). Replay ignores
// the quarantine; Warnings (→ /ready, lakehouse doctor) reports it until
// an operator removes it or the index is dropped.
const quarantineDir = "quarantine/"

func quarantinePrefix(name string) string { return indexPrefix(name) + quarantineDir }

// errStorage marks a failure to read the store: not the content's fault,
// so the object is left where it is.
var errStorage = errors.New("storage failure")

func ioFailure(err error) error { return fmt.Errorf("%w: %w", errStorage, err) }

// quarantinable reports whether err condemns an object's content (corrupt
// or unappliable), as opposed to a storage failure or a newer format,
// which leave the object alone.
func quarantinable(err error) bool {
	return errors.Is(err, errCorrupt) && !errors.Is(err, errStorage) && !errors.Is(err, errNewer)
}

// ioErrReader remembers the first error of the underlying reader other
// than EOF, telling a storage failure midway through a stream from a
// decoder's complaint about the bytes.
type ioErrReader struct {
	r   io.Reader
	err error
}

func (t *ioErrReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// splitQuarantine separates an index's keys into those to load and the
// objects already quarantined (their .reason files excluded).
func splitQuarantine(name string, keys []string) (live, held []string) {
	qp := quarantinePrefix(name)
	for _, k := range keys {
		switch {
		case !strings.HasPrefix(k, qp):
			live = append(live, k)
		case !strings.HasSuffix(k, reasonSuffix):
			held = append(held, k)
		}
	}
	return live, held
}

const reasonSuffix = ".reason"

// quarantineLog moves one index's unusable objects aside during one start.
type quarantineLog struct {
	s       *service
	name    string
	stamp   string
	reasons []string
}

// move copies key under the quarantine with its reason, then deletes it.
// An error (the store failing) leaves the original in place.
func (q *quarantineLog) move(ctx context.Context, key string, why error) error {
	s := q.s
	dst := quarantinePrefix(q.name) + q.stamp + "/" + strings.TrimPrefix(key, indexPrefix(q.name))
	rc, info, err := s.store.Get(ctx, key)
	if err != nil {
		return ioFailure(fmt.Errorf("quarantine %s: %w", key, err))
	}
	size := info.Size
	if size <= 0 {
		size = -1
	}
	_, err = s.store.Put(ctx, dst, rc, size)
	rc.Close()
	if err != nil {
		return ioFailure(fmt.Errorf("quarantine %s: %w", key, err))
	}
	reason := fmt.Sprintf("%s: %v", key, why)
	if _, err := s.store.Put(ctx, dst+reasonSuffix, strings.NewReader(reason+"\n"), int64(len(reason)+1)); err != nil {
		return ioFailure(fmt.Errorf("quarantine %s: %w", key, err))
	}
	if err := s.store.Delete(ctx, key); err != nil {
		return ioFailure(fmt.Errorf("quarantine %s: %w", key, err))
	}
	s.log.Error("vector: object quarantined; the index starts without it", "index", q.name, "key", key,
		"moved_to", dst, "reason", why.Error())
	q.reasons = append(q.reasons, reason)
	return nil
}

// quarantineState is what Warnings reports for one index.
type quarantineState struct {
	count   int
	reasons []string // this start's, then a few earlier ones
}

// maxReasons bounds the reasons kept per index (the rest are in the store
// and the log).
const maxReasons = 3

// noteQuarantine records the index's quarantined objects: those moved
// during this start and those held from earlier ones (whose reasons are
// read back from the store).
func (s *service) noteQuarantine(ctx context.Context, name string, held, moved []string) {
	if len(held)+len(moved) == 0 {
		return
	}
	st := quarantineState{count: len(held) + len(moved), reasons: slices.Clone(moved)}
	for _, k := range held {
		if len(st.reasons) >= maxReasons {
			break
		}
		st.reasons = append(st.reasons, s.readReason(ctx, k))
	}
	if len(st.reasons) > maxReasons {
		st.reasons = st.reasons[:maxReasons]
	}
	s.mu.Lock()
	s.quarantined[name] = st
	s.mu.Unlock()
	if len(held) > 0 {
		s.log.Warn("vector: index holds quarantined objects from an earlier start", "index", name,
			"objects", len(held), "prefix", quarantinePrefix(name))
	}
}

// readReason returns the recorded reason for quarantined key k.
func (s *service) readReason(ctx context.Context, k string) string {
	rc, _, err := s.store.Get(ctx, k+reasonSuffix)
	if err != nil {
		return k + ": (no reason recorded)"
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1024))
	return strings.TrimSpace(string(b))
}

// warnings lists, per index, what start-up set aside.
func (s *service) warnings() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.quarantined))
	for n := range s.quarantined {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		st := s.quarantined[n]
		out = append(out, fmt.Sprintf("index %q: %d object(s) quarantined under %s (not loaded; a .reason object beside each says why; remove them once dealt with, or drop the index): %s",
			n, st.count, quarantinePrefix(n), strings.Join(st.reasons, "; ")))
	}
	return out
}

// check fails while an index could not be loaded at all.
func (s *service) check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.failed))
	for n := range s.failed {
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	var msgs []string
	for _, n := range names {
		why := "its objects could not be read from storage"
		if errors.Is(s.failed[n], errNewer) {
			why = "it was written by a newer lakehouse"
		}
		msgs = append(msgs, fmt.Sprintf("index %q was not loaded: %s", n, why))
	}
	return fmt.Errorf("%s; its objects are left untouched and the other indexes are serving: restart once storage is reachable (or run the newer lakehouse); details in the log", strings.Join(msgs, "; "))
}
