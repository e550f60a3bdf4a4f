package observer

import (
	"lakehouse/modules/kit"
	"time"
)

// Health is GET /v1/observer/health: the ring's fill, persistence (a
// zero value when it is off; status "degraded" while it fails) and the
// Parquet dataset (when the catalog runs).
type Health struct {
	Status   string         `json:"status"`
	Service  string         `json:"service"`
	RingSize int            `json:"ring_size"`
	RingLen  int            `json:"ring_len"`
	LastID   int64          `json:"last_id"`
	Persist  PersistStatus  `json:"persist"`
	Dataset  *DatasetStatus `json:"dataset,omitempty"`
}

// EventsPage is GET /v1/observer/events; next_since pages forward.
type EventsPage struct {
	Events    []Event `json:"events"`
	Count     int     `json:"count"`
	NextSince int64   `json:"next_since"`
}

// EventAccepted is POST /v1/observer/event's answer.
type EventAccepted struct {
	Accepted  bool      `json:"accepted"`
	ID        int64     `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Source    string    `json:"source"`
}

// InboxAccepted is POST /v1/observer/inbox's answer.
type InboxAccepted struct {
	Accepted bool   `json:"accepted"`
	ID       int64  `json:"id"`
	Priority string `json:"priority"`
	Type     string `json:"type"`
}

// Flushed is POST /v1/observer/flush's answer.
type Flushed struct {
	Flushed bool           `json:"flushed"`
	Persist *PersistStatus `json:"persist,omitempty"`
	Dataset *DatasetStatus `json:"dataset,omitempty"`
}

// RouteDocs implements kit.Documented for GET /openapi.json. An event's
// body is Event's named fields (endpoint required; timestamp as RFC 3339
// or Unix seconds/milliseconds) plus any free-form fields.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"GET /health": {Summary: "the ring's fill, persistence and the Parquet dataset", Response: Health{}},
		"GET /stats":  {Summary: "event counters and the ring's fill", Response: Stats{}},
		"GET /events": {Summary: "events, newest first or forward from ?since (an id or a time), filtered by ?source, ?workflow, ?run_id, ?module", Response: EventsPage{}},
		"POST /event": {Summary: "report an operation (recorded with the caller's principal and address)", Request: Event{}, Response: EventAccepted{}},
		"POST /inbox": {Summary: "leave a message in the inbox", Request: InboxMessage{}, Response: InboxAccepted{}},
		"POST /flush": {Summary: "write pending events to their segment and the Parquet dataset now", Response: Flushed{}},
	}
}
