package observer

import (
	"encoding/json"
	"fmt"
	"time"
)

// Sources the original system knew; any other non-empty source is
// accepted too. SourceAudit marks rows written by the /v1 audit middleware.
const (
	SourceMCP        = "mcp"
	SourceScenario   = "scenario"
	SourceLangfuse   = "langfuse"
	SourceCorrection = "overseer_correction"
	SourceWorkflow   = "workflow"
	SourceInbox      = "inbox"
	SourceAudit      = "audit"
)

// Event is one observed operation: a write audited by the middleware, an
// op an outside client reported, one workflow node, or an inbox message.
// Fields holds whatever else the reporter sent; it is flattened into the
// JSON object beside the named fields.
type Event struct {
	// ID is a process-wide sequence number, increasing; replay continues
	// after the highest persisted id.
	ID         int64     `json:"id"`
	Timestamp  time.Time `json:"timestamp"`
	Source     string    `json:"source"`
	Endpoint   string    `json:"endpoint"`
	Success    bool      `json:"success"`
	Status     int       `json:"status,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	Principal  string    `json:"principal,omitempty"`
	ClientIP   string    `json:"client_ip,omitempty"`
	Module     string    `json:"module,omitempty"`
	Method     string    `json:"method,omitempty"`
	Route      string    `json:"route,omitempty"`
	Path       string    `json:"path,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	// Workflow, RunID, Node and Mode are set on workflow node rows.
	Workflow string `json:"workflow,omitempty"`
	RunID    string `json:"run_id,omitempty"`
	Node     string `json:"node,omitempty"`
	Mode     string `json:"mode,omitempty"`
	// Fields holds the reporter's free-form fields.
	Fields map[string]any `json:"-"`
	// size is the encoded size, for the ring's byte bound.
	size int
}

// eventJSON is Event without its methods, for the default encoding.
type eventJSON Event

// named lists the keys Event owns; a free-form field never overrides one.
var named = map[string]bool{
	"id": true, "timestamp": true, "source": true, "endpoint": true, "success": true,
	"status": true, "duration_ms": true, "error": true, "principal": true, "client_ip": true,
	"module": true, "method": true, "route": true, "path": true, "request_id": true,
	"workflow": true, "run_id": true, "node": true, "mode": true,
}

// MarshalJSON writes the named fields and the free-form ones in one object.
func (e Event) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(eventJSON(e))
	if err != nil {
		return nil, err
	}
	if len(e.Fields) == 0 {
		return base, nil
	}
	extra := make(map[string]any, len(e.Fields))
	for k, v := range e.Fields {
		if !named[k] {
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return base, nil
	}
	rest, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("observer: encode fields: %w", err)
	}
	// base is "{...}" with at least "id"; splice the extra keys in.
	out := make([]byte, 0, len(base)+len(rest))
	out = append(out, base[:len(base)-1]...)
	out = append(out, ',')
	out = append(out, rest[1:]...)
	return out, nil
}

// UnmarshalJSON reads the named fields and keeps every other key in Fields.
func (e *Event) UnmarshalJSON(b []byte) error {
	var base eventJSON
	if err := json.Unmarshal(b, &base); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*e = Event(base)
	for k, raw := range all {
		if named[k] {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if e.Fields == nil {
			e.Fields = map[string]any{}
		}
		e.Fields[k] = v
	}
	return nil
}

// encode returns the event as one JSON line (no newline) and records its
// size for the ring's byte bound.
func (e *Event) encode() ([]byte, error) {
	// MarshalJSON directly: json.Marshal would re-scan and compact the
	// output of a custom marshaler, a fifth of the audit path's cost.
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("observer: encode event %d: %w", e.ID, err)
	}
	e.size = len(b)
	return b, nil
}
