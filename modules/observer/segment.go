package observer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/storage"
)

// compactTargetBytes is the size compaction merges small segments up to.
const compactTargetBytes = 8 << 20

// segment is one immutable JSONL object holding events first..last.
type segment struct {
	first, last int64
	size        int64
}

func (s segment) key() string {
	return fmt.Sprintf("%s%020d-%020d.jsonl", segmentPrefix, s.first, s.last)
}

// parseSegment reads a segment's id range from its key.
func parseSegment(key string, size int64) (segment, bool) {
	name, ok := strings.CutPrefix(key, segmentPrefix)
	if !ok {
		return segment{}, false
	}
	name, ok = strings.CutSuffix(name, ".jsonl")
	a, b, ok2 := strings.Cut(name, "-")
	if !ok || !ok2 {
		return segment{}, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first <= 0 || first > last {
		return segment{}, false
	}
	return segment{first: first, last: last, size: size}, true
}

// listSegments returns the live segments in id order, and the redundant
// ones: segments whose range another covers (left by a compaction that
// crashed between writing the merged segment and deleting its parts).
func listSegments(ctx context.Context, store storage.Store) (live, redundant []segment, err error) {
	var all []segment
	err = storage.Each(ctx, store, segmentPrefix, func(o storage.ObjectInfo) error {
		if s, ok := parseSegment(o.Key, o.Size); ok {
			all = append(all, s)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("observer: segments: %w", err)
	}
	// Widest first among equal starts, so a covering segment comes before
	// the parts it covers.
	slices.SortFunc(all, func(a, b segment) int {
		if a.first != b.first {
			return cmpInt(a.first, b.first)
		}
		return cmpInt(b.last, a.last)
	})
	var reach int64
	for _, s := range all {
		if s.last <= reach {
			redundant = append(redundant, s)
			continue
		}
		live = append(live, s)
		reach = s.last
	}
	return live, redundant, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readSegment decodes a segment's events. A line that does not decode is
// skipped and counted in bad (writes are atomic, so this means an object
// someone edited by hand).
func readSegment(ctx context.Context, store storage.Store, s segment) (events []Event, bad int, err error) {
	rc, _, err := store.Get(ctx, s.key())
	if err != nil {
		return nil, 0, fmt.Errorf("observer: read segment %s: %w", s.key(), err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil || ev.ID == 0 {
			bad++
			continue
		}
		ev.size = len(line)
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		return events, bad, fmt.Errorf("observer: read segment %s: %w", s.key(), err)
	}
	return events, bad, nil
}

// replayed is what a restart recovers from the store.
type replayed struct {
	counts counters
	ring   []Event // the newest events, oldest first
	lastID int64
}

// replay loads the checkpoint, counts the events persisted after it, and
// reads the newest segments until ringSize events are found.
func (p *persister) replay(ctx context.Context, ringSize int) (replayed, error) {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	var out replayed
	cp := checkpoint{counters: counters{BySource: map[string]int64{}}}
	rc, _, err := p.store.Get(ctx, statsKey)
	switch {
	case err == nil:
		data, rerr := io.ReadAll(rc)
		rc.Close()
		if rerr != nil || json.Unmarshal(data, &cp) != nil {
			// A damaged checkpoint only costs a full count below.
			p.log.Warn("observer: checkpoint unreadable, recounting from segments", "err", rerr)
			cp = checkpoint{counters: counters{BySource: map[string]int64{}}}
		}
	case errors.Is(err, storage.ErrNotFound):
	default:
		return out, fmt.Errorf("observer: read checkpoint: %w", err)
	}
	live, redundant, err := listSegments(ctx, p.store)
	if err != nil {
		return out, err
	}
	for _, s := range redundant {
		if err := p.store.Delete(ctx, s.key()); err != nil {
			p.log.Warn("observer: delete redundant segment", "key", s.key(), "err", err)
		}
	}
	cache := map[int64][]Event{}
	read := func(s segment) ([]Event, error) {
		if evs, ok := cache[s.first]; ok {
			return evs, nil
		}
		evs, bad, err := readSegment(ctx, p.store, s)
		if bad > 0 {
			p.log.Warn("observer: skipped undecodable lines", "segment", s.key(), "lines", bad)
		}
		cache[s.first] = evs
		return evs, err
	}
	counts := cp.counters.clone()
	for _, s := range live {
		if s.last <= cp.LastID {
			continue
		}
		evs, err := read(s)
		if err != nil {
			return out, err
		}
		for i := range evs {
			if evs[i].ID > cp.LastID {
				counts.add(&evs[i])
			}
		}
	}
	// Newest segments first until the ring would be full.
	var newest [][]Event
	n := 0
	for i := len(live) - 1; i >= 0 && n < ringSize; i-- {
		evs, err := read(live[i])
		if err != nil {
			return out, err
		}
		newest = append(newest, evs)
		n += len(evs)
	}
	for i := len(newest) - 1; i >= 0; i-- {
		out.ring = append(out.ring, newest[i]...)
	}
	if len(out.ring) > ringSize {
		out.ring = out.ring[len(out.ring)-ringSize:]
	}
	out.lastID = cp.LastID
	if len(live) > 0 && live[len(live)-1].last > out.lastID {
		out.lastID = live[len(live)-1].last
	}
	out.counts = counts
	p.durable, p.durableID, p.segments = counts.clone(), out.lastID, live
	p.mu.Lock()
	p.shownID, p.shownSegs = p.durableID, len(p.segments)
	p.mu.Unlock()
	return out, nil
}

// compact merges runs of consecutive small segments into segments of up
// to compactTargetBytes: the merged object is written first, then the
// parts deleted, so a crash in between leaves a redundant (covered)
// segment that the next replay removes, never a gap.
func (p *persister) compact(ctx context.Context) error {
	var groups [][]segment
	var cur []segment
	var curSize int64
	for _, s := range p.segments {
		if curSize+s.size > compactTargetBytes && len(cur) > 0 {
			groups = append(groups, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, s)
		curSize += s.size
	}
	groups = append(groups, cur)
	var merged []segment
	for _, g := range groups {
		if len(g) < 2 || ctx.Err() != nil {
			merged = append(merged, g...)
			continue
		}
		m, err := p.merge(ctx, g)
		if err != nil {
			// Keep the rest as they are; the next compaction retries.
			merged = append(merged, g...)
			p.log.Warn("observer: merge segments", "first", g[0].first, "last", g[len(g)-1].last, "err", err)
			continue
		}
		merged = append(merged, m)
	}
	p.segments = merged
	p.mu.Lock()
	p.shownSegs = len(p.segments)
	p.mu.Unlock()
	return nil
}

func (p *persister) merge(ctx context.Context, parts []segment) (segment, error) {
	var buf bytes.Buffer
	for _, s := range parts {
		rc, _, err := p.store.Get(ctx, s.key())
		if err != nil {
			return segment{}, fmt.Errorf("observer: read %s: %w", s.key(), err)
		}
		_, err = io.Copy(&buf, rc)
		rc.Close()
		if err != nil {
			return segment{}, fmt.Errorf("observer: read %s: %w", s.key(), err)
		}
	}
	m := segment{first: parts[0].first, last: parts[len(parts)-1].last, size: int64(buf.Len())}
	if _, err := p.store.Put(ctx, m.key(), bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		return segment{}, fmt.Errorf("observer: write %s: %w", m.key(), err)
	}
	for _, s := range parts {
		if err := p.store.Delete(ctx, s.key()); err != nil {
			p.log.Warn("observer: delete merged part", "key", s.key(), "err", err)
		}
	}
	return m, nil
}
