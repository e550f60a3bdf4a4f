package observer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
)

// TestRecordReplacesTimesJSONCannotHold: a Go caller recording a time
// outside years 0000-9999 keeps its event (at the time it was recorded,
// with the reason) instead of storing a row no page can encode.
func TestRecordReplacesTimesJSONCannotHold(t *testing.T) {
	o := NewObserver(10, 0, nil)
	fields := map[string]any{"k": "v"}
	ev := o.Record(Event{Endpoint: "x", Timestamp: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), Fields: fields})
	if ev.Timestamp.Year() < 2000 || ev.Timestamp.Year() > 9999 || ev.Fields["timestamp_error"] == nil {
		t.Fatalf("event = %+v", ev)
	}
	if len(fields) != 1 {
		t.Fatalf("the caller's fields were changed: %v", fields)
	}
	if _, err := json.Marshal(o.Events(Filter{})); err != nil {
		t.Fatalf("events do not encode: %v", err)
	}
}

// TestEventsPageNeverFailsOnAStoredOddValue: an event that cannot be
// encoded (however it got into the ring) is shown as a placeholder; the
// page is a 200 with every other event.
func TestEventsPageNeverFailsOnAStoredOddValue(t *testing.T) {
	o := NewObserver(10, 0, nil)
	o.Record(Event{Endpoint: "before"})
	o.mu.Lock()
	o.insertLocked(Event{ID: 2, Endpoint: "odd", Source: "mcp", Timestamp: time.Date(318000, 1, 1, 0, 0, 0, 0, time.UTC)})
	o.nextID = 3
	o.mu.Unlock()
	o.Record(Event{Endpoint: "after"})
	m := &Module{obs: o, cfg: config.Default().Observer, log: o.log}
	e := echo.New()
	rec := httptest.NewRecorder()
	if err := m.events(e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/observer/events", nil), rec)); err != nil {
		t.Fatalf("events: %v", err)
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var page struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Events) != 3 {
		t.Fatalf("page = %s (%v)", rec.Body, err)
	}
	if page.Events[0]["endpoint"] != "before" || page.Events[2]["endpoint"] != "after" ||
		!strings.Contains(page.Events[1]["encode_error"].(string), "year") {
		t.Fatalf("page = %s", rec.Body)
	}
}
