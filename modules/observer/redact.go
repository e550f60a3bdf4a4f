package observer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Redactor replaces what erasure names wherever the observer holds it —
// the ring, the recent scenario, and every persisted segment (rewritten
// in place: the same key, the same events, the values replaced) — so an
// erased person's email or id is gone from events and audit rows while
// the rows themselves (who did what, when) stay. redact returns its
// argument with every occurrence replaced. The observer module
// implements it; the Parquet copy is a dataset, which erasure rewrites.
type Redactor interface {
	Redact(ctx context.Context, redact func(string) string) (int, error)
}

var _ Redactor = (*Module)(nil)

// Redact implements Redactor: it returns how many events changed (those
// in memory and those in segments are counted apart, so one event may
// count twice).
func (m *Module) Redact(ctx context.Context, redact func(string) string) (int, error) {
	n := m.obs.redact(redact)
	if m.pers == nil {
		return n, nil
	}
	k, err := m.pers.redact(ctx, redact)
	return n + k, err
}

func (o *Observer) redact(fn func(string) string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	o.ring.each(func(ev *Event) bool {
		if redactEvent(ev, fn) {
			n++
		}
		return true
	})
	for i := range o.scenario {
		if redactEvent(&o.scenario[i], fn) {
			n++
		}
	}
	return n
}

// redactEvent applies fn to every text the event holds; it reports
// whether anything changed.
func redactEvent(ev *Event, fn func(string) string) bool {
	changed := false
	for _, p := range []*string{&ev.Endpoint, &ev.Error, &ev.Path, &ev.Route, &ev.Workflow, &ev.RunID, &ev.Node, &ev.Mode, &ev.Module} {
		if r := fn(*p); r != *p {
			*p, changed = r, true
		}
	}
	if ev.Fields != nil {
		out, ch := redactValue(ev.Fields, fn)
		if ch {
			ev.Fields, changed = out.(map[string]any), true
		}
	}
	return changed
}

func redactValue(v any, fn func(string) string) (any, bool) {
	switch x := v.(type) {
	case string:
		r := fn(x)
		return r, r != x
	case map[string]any:
		changed := false
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, ch := redactValue(e, fn)
			out[k], changed = r, changed || ch
		}
		return out, changed
	case []any:
		changed := false
		out := make([]any, len(x))
		for i, e := range x {
			r, ch := redactValue(e, fn)
			out[i], changed = r, changed || ch
		}
		return out, changed
	}
	return v, false
}

// redact rewrites every segment holding a value: pending events are
// flushed first, and no flush or compaction runs meanwhile (flushMu).
func (p *persister) redact(ctx context.Context, fn func(string) string) (int, error) {
	if err := p.flush(ctx); err != nil {
		return 0, err
	}
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	n := 0
	for i, s := range p.segments {
		rc, _, err := p.store.Get(ctx, s.key())
		if err != nil {
			return n, fmt.Errorf("observer: redact %s: %w", s.key(), err)
		}
		var out bytes.Buffer
		changed := false
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if fn(string(line)) == string(line) {
				out.Write(line)
				out.WriteByte('\n')
				continue
			}
			var ev Event
			if err := json.Unmarshal(line, &ev); err != nil {
				// A line that does not decode cannot be redacted field by
				// field: it goes (replay skips such lines anyway).
				changed = true
				continue
			}
			redactEvent(&ev, fn)
			b, err := json.Marshal(ev)
			if err != nil {
				rc.Close()
				return n, fmt.Errorf("observer: redact %s: %w", s.key(), err)
			}
			out.Write(b)
			out.WriteByte('\n')
			changed = true
			n++
		}
		rc.Close()
		if err := sc.Err(); err != nil {
			return n, fmt.Errorf("observer: redact %s: %w", s.key(), err)
		}
		if !changed {
			continue
		}
		if _, err := p.store.Put(ctx, s.key(), bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
			return n, fmt.Errorf("observer: redact %s: %w", s.key(), err)
		}
		p.segments[i].size = int64(out.Len())
	}
	return n, nil
}
