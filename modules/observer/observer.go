package observer

import (
	"lakehouse/modules/kit"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// recentScenarioKeep is how many "scenario" events stats returns.
const recentScenarioKeep = 20

// Observer is the audit witness: a bounded ring of events, counters over
// every event ever recorded, and hooks that persist each event. It is safe
// for concurrent use and implements kit.AuditSink.
type Observer struct {
	log *slog.Logger

	mu       sync.Mutex
	ring     *ring
	nextID   int64
	counts   counters
	evicted  int64
	scenario []Event // newest last, at most recentScenarioKeep
	sinks    []func(Event, []byte)

	// persistFailures is bumped by the persistence hooks.
	persistFailures atomic.Int64
}

// counters are the per-event tallies stats reports; the persister keeps a
// copy covering only durable events for replay.
type counters struct {
	Total     int64            `json:"total"`
	Successes int64            `json:"successes"`
	Failures  int64            `json:"failures"`
	BySource  map[string]int64 `json:"by_source"`
}

func (c *counters) add(ev *Event) {
	c.Total++
	if ev.Success {
		c.Successes++
	} else {
		c.Failures++
	}
	if c.BySource == nil {
		c.BySource = map[string]int64{}
	}
	src := ev.Source
	if _, ok := c.BySource[src]; !ok && len(c.BySource) >= maxSources {
		// Sources are client-chosen strings: bound the map.
		src = otherSource
	}
	c.BySource[src]++
}

// maxSources bounds by_source; later new sources count under "other".
const (
	maxSources  = 256
	otherSource = "other"
)

func (c counters) clone() counters {
	c.BySource = maps.Clone(c.BySource)
	if c.BySource == nil {
		c.BySource = map[string]int64{}
	}
	return c
}

var _ kit.AuditSink = (*Observer)(nil)

// NewObserver returns an observer whose ring holds ringSize events and at most
// ringMaxBytes of encoded events (0 = no byte bound).
func NewObserver(ringSize int, ringMaxBytes int64, log *slog.Logger) *Observer {
	if log == nil {
		log = slog.Default()
	}
	return &Observer{log: log, ring: newRing(ringSize, ringMaxBytes), nextID: 1, counts: counters{BySource: map[string]int64{}}}
}

// onRecord registers a hook called, under the observer's lock and in id
// order, with every recorded event and its JSON line. Hooks must not block
// (persistence only queues the line).
func (o *Observer) onRecord(fn func(Event, []byte)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sinks = append(o.sinks, fn)
}

// Record assigns ev an id, defaults its timestamp and source, adds it to
// the ring (evicting the oldest when full) and queues it for persistence.
// It never fails: a persistence problem is counted, not returned.
func (o *Observer) Record(ev Event) Event {
	if ev.Timestamp.IsZero() {
		ev.Timestamp = time.Now()
	}
	ev.Timestamp = ev.Timestamp.UTC()
	if !validEventTime(ev.Timestamp) {
		// A Go caller passed a time JSON cannot hold: keep the event (it
		// is an audit row) at the time it was recorded, and say so.
		o.log.Warn("observer: event time outside years 0000-9999 replaced by now", "timestamp", ev.Timestamp.String(), "endpoint", ev.Endpoint)
		ev.Fields = maps.Clone(ev.Fields) // the caller's map stays as it was
		if ev.Fields == nil {
			ev.Fields = map[string]any{}
		}
		ev.Fields["timestamp_error"] = "the reported time " + ev.Timestamp.String() + " is outside years 0000-9999"
		ev.Timestamp = time.Now().UTC()
	}
	if ev.Source == "" {
		ev.Source = SourceMCP
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	ev.ID = o.nextID
	o.nextID++
	line, err := ev.encode()
	if err != nil {
		// Free-form fields that cannot be encoded (they came from Go code,
		// not JSON) are dropped rather than losing the event.
		o.log.Warn("observer: dropping unencodable fields", "id", ev.ID, "err", err)
		ev.Fields = map[string]any{"fields_error": err.Error()}
		line, _ = ev.encode()
	}
	o.insertLocked(ev)
	for _, fn := range o.sinks {
		fn(ev, line)
	}
	return ev
}

// insertLocked adds an event to the ring and the counters.
func (o *Observer) insertLocked(ev Event) {
	o.evicted += int64(o.ring.add(ev))
	o.counts.add(&ev)
	if ev.Source == SourceScenario {
		o.scenario = append(o.scenario, ev)
		if len(o.scenario) > recentScenarioKeep {
			o.scenario = append(o.scenario[:0:0], o.scenario[len(o.scenario)-recentScenarioKeep:]...)
		}
	}
}

// restore loads replayed state: counters over every persisted event, the
// newest events for the ring (oldest first) and the next id. Called once
// before any Record.
func (o *Observer) restore(c counters, events []Event, nextID int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ev := range events {
		if ev.size == 0 {
			_, _ = ev.encode()
		}
		o.evicted += int64(o.ring.add(ev))
		if ev.Source == SourceScenario {
			o.scenario = append(o.scenario, ev)
		}
	}
	if len(o.scenario) > recentScenarioKeep {
		o.scenario = o.scenario[len(o.scenario)-recentScenarioKeep:]
	}
	// Replay filling the ring is not an eviction anyone should see.
	o.evicted = 0
	o.counts = c.clone()
	if nextID > o.nextID {
		o.nextID = nextID
	}
}

// continueAfter makes the next id larger than id.
func (o *Observer) continueAfter(id int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id >= o.nextID {
		o.nextID = id + 1
	}
}

// Audit implements kit.AuditSink: one row per mutating /v1 call.
func (o *Observer) Audit(a kit.AuditEvent) {
	endpoint := a.Route
	if endpoint == "" {
		endpoint = a.Path
	}
	o.Record(Event{
		Timestamp: a.Time, Source: SourceAudit, Endpoint: a.Method + " " + endpoint,
		Success: a.Success, Status: a.Status, DurationMS: a.DurationMS, Error: a.Error,
		Principal: a.Principal, ClientIP: a.ClientIP, Module: a.Module, Method: a.Method,
		Route: a.Route, Path: a.Path, RequestID: a.RequestID, Fields: a.Fields,
	})
}

// Stats is the answer of GET /v1/observer/stats. Total, Successes,
// Failures and BySource cover every event recorded (replayed history
// included); Evicted and PersistFailures count since the process started.
type Stats struct {
	Total             int64            `json:"total"`
	Successes         int64            `json:"successes"`
	Failures          int64            `json:"failures"`
	BySource          map[string]int64 `json:"by_source"`
	Evicted           int64            `json:"evicted"`
	PersistFailures   int64            `json:"persist_failures"`
	RecentScenarioOps []Event          `json:"recent_scenario_ops"`
	RingLen           int              `json:"ring_len"`
	RingSize          int              `json:"ring_size"`
	RingBytes         int64            `json:"ring_bytes"`
	LastID            int64            `json:"last_id"`
}

// Stats returns the counters and the ring's fill.
func (o *Observer) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts.clone()
	recent := make([]Event, len(o.scenario))
	copy(recent, o.scenario)
	return Stats{
		Total: c.Total, Successes: c.Successes, Failures: c.Failures, BySource: c.BySource,
		Evicted: o.evicted, PersistFailures: o.persistFailures.Load(), RecentScenarioOps: recent,
		RingLen: o.ring.len(), RingSize: len(o.ring.buf), RingBytes: o.ring.bytes, LastID: o.nextID - 1,
	}
}

// Filter selects events from the ring. Zero fields match everything.
type Filter struct {
	// SinceID keeps events with a larger id.
	SinceID int64
	// SinceTime keeps events at or after it.
	SinceTime time.Time
	Source    string
	Workflow  string
	RunID     string
	Module    string
	// Principal keeps only that principal's events (a caller limited to
	// some datasets sees its own activity only: others' paths and errors
	// name datasets beyond its grants).
	Principal string
	// Limit caps the answer (<= 0: no cap). With a Since bound (or
	// Forward) the oldest matches are returned, to page forward; without
	// one, the newest.
	Limit int
	// Forward pages from the oldest even without a Since bound (since=0).
	Forward bool
}

func (f *Filter) match(ev *Event) bool {
	return ev.ID > f.SinceID &&
		(f.SinceTime.IsZero() || !ev.Timestamp.Before(f.SinceTime)) &&
		(f.Source == "" || ev.Source == f.Source) &&
		(f.Workflow == "" || ev.Workflow == f.Workflow) &&
		(f.RunID == "" || ev.RunID == f.RunID) &&
		(f.Module == "" || ev.Module == f.Module) &&
		(f.Principal == "" || ev.Principal == f.Principal)
}

// Events returns matching ring events, oldest first.
func (o *Observer) Events(f Filter) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []Event{}
	full := func() bool { return f.Limit > 0 && len(out) >= f.Limit }
	if f.Forward || f.SinceID > 0 || !f.SinceTime.IsZero() || f.Limit <= 0 {
		o.ring.each(func(ev *Event) bool {
			if f.match(ev) {
				out = append(out, *ev)
			}
			return !full()
		})
		return out
	}
	o.ring.eachReverse(func(ev *Event) bool {
		if f.match(ev) {
			out = append(out, *ev)
		}
		return !full()
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
