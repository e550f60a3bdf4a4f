package observer_test

import (
	"net/url"
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

// TestHTTPEventTimesOutsideYears0To9999Refused: "timestamp": 1e16 (year
// ≈ 318 000) was stored and turned every events page holding it into a
// 500 until it left the ring. Times JSON cannot encode are now a 400 and
// the pages around the limits stay 200.
func TestHTTPEventTimesOutsideYears0To9999Refused(t *testing.T) {
	s := apptest.Start(t)
	for _, ts := range []any{1e16, 253402300800000, "9999-12-31T23:59:59-05:00", "0000-01-01T00:30:00+01:00"} {
		e := s.Fail(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "poison", "timestamp": ts}, 400)
		if e.Error.Details["field"] != "timestamp" || !strings.Contains(e.Error.Message, "9999") {
			t.Fatalf("timestamp %v: %+v", ts, e.Error)
		}
	}
	for _, ts := range []any{253402300799999, "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", 0} {
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "edge", "timestamp": ts}, 200, nil)
	}
	if got := getEvents(t, s, url.Values{"limit": {"100"}}); got.Count != 4 {
		t.Fatalf("events page = %+v", got)
	}
	s = s.Restart(t)
	if got := getEvents(t, s, url.Values{"since": {"0"}}); got.Count != 4 {
		t.Fatalf("events after restart = %d, want 4", got.Count)
	}
}

// TestHTTPDeepBodiesRefused: event bodies nesting deeper
// than observer.max_json_depth are a 400 naming the limit; nothing is
// recorded for them.
func TestHTTPDeepBodiesRefused(t *testing.T) {
	s := apptest.Start(t)
	deep := strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600)
	e := s.Fail(t, "POST", "/v1/observer/event", `{"endpoint":"x","f":`+deep+`}`, 400)
	if e.Error.Code != "too_deep" || !strings.Contains(e.Error.Message, "512") || !strings.Contains(e.Error.Message, "max_json_depth") {
		t.Fatalf("event: %+v", e.Error)
	}
	s.JSON(t, "POST", "/v1/observer/event", `{"endpoint":"x","f":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)+`}`, 200, nil)
	if got := getEvents(t, s, url.Values{"source": {"mcp"}}); got.Count != 1 {
		t.Fatalf("events = %d, want only the accepted one", got.Count)
	}
}
