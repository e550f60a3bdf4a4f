package observer

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"lakehouse/internal/jsonx"
	"lakehouse/modules/kit"
)

// Routes implements kit.Router. POST /event and /inbox are marked
// kit.ReadOnly: the event they carry IS the audit row (with the caller's
// principal and address filled in), so the middleware does not add a
// second one. Workflow routes (/workflow/...) are the workflow module's.
func (m *Module) Routes(g *echo.Group) {
	g.GET("/health", m.health)
	g.GET("/stats", m.stats)
	g.GET("/events", m.events)
	g.POST("/event", m.postEvent, kit.ReadOnly, kit.BodyLimit(int64(m.cfg.MaxEventBytes)))
	g.POST("/inbox", m.postInbox, kit.ReadOnly, kit.BodyLimit(inboxMaxBytes))
	g.POST("/flush", m.flush)
}

func (m *Module) health(c echo.Context) error {
	st := m.obs.Stats()
	out := Health{Status: "ok", Service: "observer", RingSize: st.RingSize, RingLen: st.RingLen, LastID: st.LastID}
	if m.pers != nil {
		out.Persist = m.pers.status()
		if out.Persist.LastError != "" {
			out.Status = "degraded"
		}
	}
	if m.pq != nil {
		ds := m.pq.status()
		out.Dataset = &ds
	}
	return c.JSON(http.StatusOK, out)
}

func (m *Module) stats(c echo.Context) error {
	return c.JSON(http.StatusOK, m.obs.Stats())
}

// defaultEventsLimit is GET /events' page size when limit is not given.
const defaultEventsLimit = 100

func (m *Module) events(c echo.Context) error {
	f := Filter{
		Source: c.QueryParam("source"), Workflow: c.QueryParam("workflow"),
		RunID: c.QueryParam("run_id"), Module: c.QueryParam("module"), Limit: defaultEventsLimit,
	}
	if p := kit.PrincipalOf(c.Request().Context()); p != nil && !p.AllDatasets() {
		f.Principal = p.Name
	}
	if s := c.QueryParam("since"); s != "" {
		f.Forward = true
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			f.SinceID = id
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			f.SinceTime = t
		} else {
			return kit.BadRequest("since: %q is neither an event id nor an RFC 3339 time", s).
				WithDetails(map[string]any{"param": "since"})
		}
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return kit.BadRequest("limit: %q is not a positive integer", s).WithDetails(map[string]any{"param": "limit"})
		}
		f.Limit = min(n, m.cfg.RingSize)
	}
	evs := m.obs.Events(f)
	next := f.SinceID
	if len(evs) > 0 {
		next = evs[len(evs)-1].ID
	}
	body, err := json.Marshal(EventsPage{Events: evs, Count: len(evs), NextSince: next})
	if err != nil {
		// One odd stored value must not make the page (and every page
		// holding it) a 500: encode event by event, replacing the ones
		// that fail with their id and the reason.
		body, err = json.Marshal(map[string]any{"events": encodeEach(evs, m.log), "count": len(evs), "next_since": next})
		if err != nil {
			return fmt.Errorf("observer: encode events page: %w", err)
		}
	}
	return c.JSONBlob(http.StatusOK, body)
}

// encodeEach encodes events one by one; an event that cannot be encoded
// becomes {"id", "timestamp": null, "encode_error"} and is logged.
func encodeEach(evs []Event, log *slog.Logger) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i := range evs {
		b, err := evs[i].MarshalJSON()
		if err != nil {
			log.Warn("observer: event cannot be encoded; the page shows a placeholder", "id", evs[i].ID, "err", err)
			b, _ = json.Marshal(map[string]any{"id": evs[i].ID, "timestamp": nil, "source": evs[i].Source,
				"encode_error": "this event cannot be shown as JSON: " + err.Error()})
		}
		out[i] = b
	}
	return out
}

// readJSONObject decodes a body that must be one JSON object nesting no
// deeper than observer.max_json_depth (what is acknowledged is persisted
// as a line that must decode again at replay); the numbers stay
// json.Number so free-form fields keep their exact text.
func (m *Module) readJSONObject(c echo.Context) (map[string]any, error) {
	depth := m.cfg.MaxJSONDepth
	if depth <= 0 {
		depth = jsonx.DefaultMaxDepth
	}
	var obj map[string]any
	if err := kit.DecodeJSON(c.Request().Body, &obj, kit.UseNumber(), kit.MaxDepth(depth, "observer.max_json_depth")); err != nil {
		return nil, err
	}
	return obj, nil
}

func (m *Module) postEvent(c echo.Context) error {
	obj, err := m.readJSONObject(c)
	if err != nil {
		return err
	}
	ev, err := eventFromJSON(obj)
	if err != nil {
		return err
	}
	ev.Principal = kit.PrincipalName(c)
	ev.ClientIP = kit.ClientIP(c)
	ev.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	ev = m.obs.Record(ev)
	return c.JSON(http.StatusOK, EventAccepted{Accepted: true, ID: ev.ID, Timestamp: ev.Timestamp, Source: ev.Source})
}

// eventFromJSON validates a reported event: endpoint required; timestamp
// (RFC 3339 or Unix seconds/milliseconds) and source (default "mcp")
// defaulted; success defaults from status/error, else true. Every other
// key is kept as a free-form field.
func eventFromJSON(obj map[string]any) (Event, error) {
	var ev Event
	str := func(k string) (string, error) {
		v, ok := obj[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", kit.BadRequest("%s: must be a string", k).WithDetails(map[string]any{"field": k})
		}
		return s, nil
	}
	var err error
	if ev.Endpoint, err = str("endpoint"); err != nil {
		return ev, err
	}
	ev.Endpoint = strings.TrimSpace(ev.Endpoint)
	if ev.Endpoint == "" {
		return ev, kit.BadRequest("endpoint is required").WithDetails(map[string]any{"field": "endpoint"})
	}
	if ev.Source, err = str("source"); err != nil {
		return ev, err
	}
	ev.Source = strings.TrimSpace(ev.Source)
	if ev.Source == "" {
		ev.Source = SourceMCP
	}
	if len(ev.Source) > 64 || strings.IndexFunc(ev.Source, unicode.IsControl) >= 0 {
		return ev, kit.BadRequest("source: at most 64 characters, no control characters").WithDetails(map[string]any{"field": "source"})
	}
	if ev.Timestamp, err = parseTimestamp(obj["timestamp"]); err != nil {
		return ev, err
	}
	if ev.Error, err = str("error"); err != nil {
		return ev, err
	}
	for _, k := range []struct {
		name string
		dst  *string
	}{{"workflow", &ev.Workflow}, {"run_id", &ev.RunID}, {"node", &ev.Node}, {"mode", &ev.Mode}, {"module", &ev.Module}, {"method", &ev.Method}} {
		if *k.dst, err = str(k.name); err != nil {
			return ev, err
		}
	}
	if v, ok := obj["status"]; ok && v != nil {
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < 0 || i > 999 {
			return ev, kit.BadRequest("status: must be an integer status code").WithDetails(map[string]any{"field": "status"})
		}
		ev.Status = int(i)
	}
	if v, ok := obj["duration_ms"]; ok && v != nil {
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || f < 0 || math.IsInf(f, 0) {
			return ev, kit.BadRequest("duration_ms: must be a non-negative number").WithDetails(map[string]any{"field": "duration_ms"})
		}
		ev.DurationMS = f
	}
	switch v := obj["success"].(type) {
	case bool:
		ev.Success = v
	case nil:
		ev.Success = ev.Error == "" && (ev.Status == 0 || ev.Status < 400)
	default:
		return ev, kit.BadRequest("success: must be true or false").WithDetails(map[string]any{"field": "success"})
	}
	for k, v := range obj {
		if named[k] {
			continue
		}
		if ev.Fields == nil {
			ev.Fields = map[string]any{}
		}
		ev.Fields[k] = v
	}
	return ev, nil
}

// Event times must lie in years 0000-9999: RFC 3339 (and so the JSON a
// time.Time encodes to) cannot write any other, and one stored event
// outside them used to turn every events page that held it into a 500.
var (
	minEventTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxEventTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// validEventTime reports whether t can be stored and encoded.
func validEventTime(t time.Time) bool {
	return !t.Before(minEventTime) && !t.After(maxEventTime)
}

// parseTimestamp accepts RFC 3339 text or a Unix time in seconds or, when
// it is too large to be seconds, milliseconds; absent means now. A time
// outside years 0000-9999 is a 400.
func parseTimestamp(v any) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, kit.BadRequest("timestamp: use RFC 3339 (2026-01-02T15:04:05Z) or Unix seconds/milliseconds, between years 0000 and 9999").
			WithDetails(map[string]any{"field": "timestamp"})
	}
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		if t == "" {
			return time.Time{}, nil
		}
		ts, err := time.Parse(time.RFC3339Nano, t)
		if err != nil || !validEventTime(ts.UTC()) {
			return bad()
		}
		return ts, nil
	case json.Number:
		f, err := t.Float64()
		if err != nil || f < 0 || math.IsInf(f, 0) || f > float64(maxEventTime.UnixMilli()) {
			return bad()
		}
		if f >= 1e11 { // later than year 5138 in seconds: milliseconds
			return time.UnixMilli(int64(f)), nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return bad()
}

func (m *Module) flush(c echo.Context) error {
	if err := m.Flush(c.Request().Context()); err != nil {
		return kit.Errorf(http.StatusServiceUnavailable, "persist_failed", "flush: %v", err)
	}
	out := Flushed{Flushed: true}
	if m.pers != nil {
		ps := m.pers.status()
		out.Persist = &ps
	}
	if m.pq != nil {
		ds := m.pq.status()
		out.Dataset = &ds
	}
	return c.JSON(http.StatusOK, out)
}
