package pathway

import (
	"bytes"
	"encoding/json"
	"fmt"

	"lakehouse/internal/jsonx"
)

// Log record operations (the original's line shape).
const (
	opAdd    = "add"
	opUpdate = "update"
	opRevise = "revise"
	opRetire = "retire"
	opReplay = "replay"
	// opForget removes a trace outright (erasure); unlike retire, nothing
	// of it stays. The record names only the uid.
	opForget = "forget"
)

// record is one JSONL log line. add and revise carry the whole trace;
// update, retire and replay name the uid (update carries the new content
// and, when they change, the tags). A compacted log is one add per trace.
type record struct {
	Op      string          `json:"op"`
	Trace   *Trace          `json:"trace,omitempty"`
	UID     string          `json:"uid,omitempty"`
	Content json.RawMessage `json:"content,omitempty"`
	Tags    *[]string       `json:"tags,omitempty"`
	TsNs    int64           `json:"ts_ns,omitempty"`
}

// encode renders r as one line without HTML escaping (content is stored
// byte for byte as compacted at write time).
func (r *record) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("pathway: encode %s record: %w", r.Op, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// entry is one stored trace plus what search needs.
type entry struct {
	t     *Trace
	terms []termCount // sorted by term id, for lexical ranking
	nterm int         // tokens in the trace's text
	seq   uint64      // log sequence of the last change (0 = replayed)
}

// state is the in-memory store. It is not synchronised: Service guards it.
type state struct {
	traces  map[string]*entry
	dict    *termDict
	retired int
	lastNs  int64 // newest timestamp seen, so the clock never goes back
}

func newState() *state { return &state{traces: map[string]*entry{}, dict: newTermDict()} }

func (s *state) index(e *entry) {
	e.terms, e.nterm = s.dict.countTerms(traceText(e.t))
}

func (s *state) seen(ts int64) {
	if ts > s.lastNs {
		s.lastNs = ts
	}
}

// apply changes the state by one record. Replay and live writes share it,
// so what a restart rebuilds is exactly what was acknowledged. It returns
// the affected entry.
//
// A stored *Trace is never modified once published: a change replaces
// e.t with a changed copy (copy on write), so compaction can snapshot
// the traces by pointer and encode them without holding the lock.
func (s *state) apply(r *record) (*entry, error) {
	switch r.Op {
	case opAdd, opRevise:
		t := r.Trace
		if t == nil || t.UID == "" {
			return nil, fmt.Errorf("%w: %s record without a trace uid", ErrInvalid, r.Op)
		}
		if _, dup := s.traces[t.UID]; dup {
			return nil, fmt.Errorf("%w: %q", ErrExists, t.UID)
		}
		if err := checkContent(t.Content); err != nil {
			return nil, err
		}
		if t.ReplayCount < 0 {
			return nil, fmt.Errorf("%w: negative replay_count", ErrInvalid)
		}
		e := &entry{t: t.Clone()}
		s.index(e)
		s.traces[t.UID] = e
		if t.Retired {
			s.retired++
		}
		s.seen(t.CreatedAtNs)
		s.seen(t.UpdatedAtNs)
		return e, nil
	case opUpdate:
		e, err := s.lookup(r.UID)
		if err != nil {
			return nil, err
		}
		if err := checkContent(r.Content); err != nil {
			return nil, err
		}
		t := *e.t
		t.Content = bytes.Clone(r.Content)
		if r.Tags != nil {
			t.Tags = cloneTags(*r.Tags)
		}
		t.UpdatedAtNs = r.TsNs
		e.t = &t
		s.seen(r.TsNs)
		s.index(e)
		return e, nil
	case opRetire:
		e, err := s.lookup(r.UID)
		if err != nil {
			return nil, err
		}
		t := *e.t
		if !t.Retired {
			t.Retired = true
			s.retired++
		}
		t.UpdatedAtNs = r.TsNs
		e.t = &t
		s.seen(r.TsNs)
		return e, nil
	case opReplay:
		e, err := s.lookup(r.UID)
		if err != nil {
			return nil, err
		}
		// A replay only counts: the original content, tags and
		// timestamps stay as they were.
		t := *e.t
		t.ReplayCount++
		e.t = &t
		return e, nil
	case opForget:
		// Idempotent: a forget replayed after its trace is gone (or
		// after a compaction dropped it) changes nothing.
		if e, ok := s.traces[r.UID]; ok {
			if e.t.Retired {
				s.retired--
			}
			delete(s.traces, r.UID)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: unknown op %q", ErrInvalid, r.Op)
	}
}

func (s *state) lookup(uid string) (*entry, error) {
	e, ok := s.traces[uid]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, uid)
	}
	return e, nil
}

func (s *state) stats() Stats {
	return Stats{Total: len(s.traces), Active: len(s.traces) - s.retired, Retired: s.retired}
}

// checkContent requires content to be present and not null. It does not
// re-scan the JSON: live content was compacted (= validated) by
// normalizeContent, and replayed content was validated by json.Unmarshal
// of its line; a 4 MiB trace is not scanned more often than needed.
func checkContent(c json.RawMessage) error {
	t := bytes.TrimSpace(c)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return fmt.Errorf("%w: content is required", ErrInvalidContent)
	}
	return nil
}

// normalizeContent validates and compacts content (JSONL needs one line;
// compacting once here means stored, logged and returned bytes agree).
// Content nesting deeper than maxDepth is refused before anything is
// stored: the record around it must decode again at replay.
func normalizeContent(c json.RawMessage, maxDepth int) (json.RawMessage, error) {
	if err := checkContent(c); err != nil {
		return nil, err
	}
	if err := jsonx.CheckDepth(c, maxDepth); err != nil {
		return nil, fmt.Errorf("%w: content %v; the limit is pathway.max_json_depth", ErrInvalidContent, err)
	}
	var b bytes.Buffer
	b.Grow(len(c))
	if err := json.Compact(&b, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidContent, err)
	}
	return b.Bytes(), nil
}

func cloneTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return append([]string(nil), tags...)
}
