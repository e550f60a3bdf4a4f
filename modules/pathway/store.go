package pathway

import (
	"context"
	"encoding/json"
	"lakehouse/modules/kit"
	"net/http"
	"slices"
)

// Errors callers match with errors.Is; each carries its HTTP answer.
var (
	// ErrInvalidContent: content is missing or not valid JSON (400).
	ErrInvalidContent = kit.NewKind(http.StatusBadRequest, "invalid_content", "pathway: content is not valid JSON")
	// ErrNotFound: the uid (or a revision's predecessor) is unknown (404).
	ErrNotFound = kit.NewKind(http.StatusNotFound, "not_found", "pathway: trace not found")
	// ErrCycle: a History walk met a uid it had already visited (409).
	ErrCycle = kit.NewKind(http.StatusConflict, "history_cycle", "pathway: predecessor cycle")
	// ErrInvalid: any other bad argument (empty uid, bad limit...) (400).
	ErrInvalid = kit.NewKind(http.StatusBadRequest, "bad_request", "pathway: invalid request")
	// ErrExists: Add/Revise was asked to create a uid that is taken (409).
	ErrExists = kit.NewKind(http.StatusConflict, "exists", "pathway: uid already exists")
	// ErrClosed: the store was closed (503, retry later).
	ErrClosed = kit.NewKind(http.StatusServiceUnavailable, "overloaded", "pathway: store closed").RetryAfter(30)
)

// Trace is one remembered item. Its JSON shape is the original system's
// (API-COMPAT.md): content is any JSON value, times are Unix nanoseconds.
type Trace struct {
	UID            string          `json:"uid"`
	Content        json.RawMessage `json:"content"`
	PredecessorUID string          `json:"predecessor_uid,omitempty"`
	CreatedAtNs    int64           `json:"created_at_ns"`
	UpdatedAtNs    int64           `json:"updated_at_ns"`
	Retired        bool            `json:"retired"`
	ReplayCount    int64           `json:"replay_count"`
	Tags           []string        `json:"tags,omitempty"`
	Kind           string          `json:"kind,omitempty"`
}

// Clone returns a deep copy; every *Trace the Store hands out is one, so a
// caller mutating it changes nothing stored.
func (t *Trace) Clone() *Trace {
	if t == nil {
		return nil
	}
	c := *t
	c.Content = slices.Clone(t.Content)
	c.Tags = slices.Clone(t.Tags)
	return &c
}

// NewTrace is what a caller supplies to create a trace.
type NewTrace struct {
	// Content must be valid JSON (any value), else ErrInvalidContent.
	Content json.RawMessage `json:"content"`
	Tags    []string        `json:"tags,omitempty"`
	Kind    string          `json:"kind,omitempty"`
}

// Query filters and ranks Search. Retired traces never match.
type Query struct {
	// Text ranks matches: semantically when embed+vector are present,
	// lexically otherwise. Empty Text lists newest first.
	Text string `json:"text,omitempty"`
	// Kind, when set, must equal the trace's kind.
	Kind string `json:"kind,omitempty"`
	// Tags: a trace must carry every one of them.
	Tags []string `json:"tags,omitempty"`
	// SinceNs/UntilNs bound created_at_ns (inclusive; 0 = open).
	SinceNs int64 `json:"since_ns,omitempty"`
	UntilNs int64 `json:"until_ns,omitempty"`
	// Limit caps the results (default 10, max 1000).
	Limit int `json:"limit,omitempty"`
}

// Hit is one search result: the trace and its score (higher is better).
type Hit struct {
	*Trace
	Score float64 `json:"score"`
}

// Stats counts traces.
type Stats struct {
	Total   int `json:"total"`
	Active  int `json:"active"`
	Retired int `json:"retired"`
}

// Store is the pathway module's interface for other modules (observer
// workflows pathway_add / pathway_search, MCP). Every write is durable
// before it returns; every returned *Trace is a deep clone.
type Store interface {
	// Add stores a new trace with a fresh uid and timestamps.
	Add(ctx context.Context, in NewTrace) (*Trace, error)
	// AddIdempotent adds under uid, or, when uid exists, increments its
	// replay_count and keeps its ORIGINAL content; replayed reports which.
	AddIdempotent(ctx context.Context, uid string, in NewTrace) (t *Trace, replayed bool, err error)
	// Update replaces content (and tags when non-nil) under the same uid.
	Update(ctx context.Context, uid string, content json.RawMessage, tags []string) (*Trace, error)
	// Revise creates a new trace whose predecessor is predecessorUID.
	Revise(ctx context.Context, predecessorUID string, in NewTrace) (*Trace, error)
	// Retire hides a trace from Search; Get and History still return it.
	Retire(ctx context.Context, uid string) (*Trace, error)
	// Get returns a trace, retired or not.
	Get(ctx context.Context, uid string) (*Trace, error)
	// History returns uid's trace then its predecessors, newest first;
	// it stops at a missing predecessor and fails with ErrCycle on a loop.
	History(ctx context.Context, uid string) ([]*Trace, error)
	// Search filters and ranks active traces.
	Search(ctx context.Context, q Query) ([]Hit, error)
	// Stats counts total, active and retired traces.
	Stats(ctx context.Context) (Stats, error)
}
