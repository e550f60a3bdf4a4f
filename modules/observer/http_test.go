package observer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/observer"
)

// eventsAnswer is GET /v1/observer/events.
type eventsAnswer struct {
	Events    []map[string]any `json:"events"`
	Count     int              `json:"count"`
	NextSince int64            `json:"next_since"`
}

func getEvents(t *testing.T, s *apptest.Server, q url.Values) eventsAnswer {
	t.Helper()
	var out eventsAnswer
	s.JSON(t, "GET", "/v1/observer/events?"+q.Encode(), nil, 200, &out)
	return out
}

func stats(t *testing.T, s *apptest.Server) observer.Stats {
	t.Helper()
	var st observer.Stats
	s.JSON(t, "GET", "/v1/observer/stats", nil, 200, &st)
	return st
}

func TestHTTPEventValidationAndDefaults(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.MaxEventBytes = 2048 })
	e := s.Fail(t, "POST", "/v1/observer/event", map[string]any{"source": "scenario"}, 400)
	if !strings.Contains(e.Error.Message, "endpoint") {
		t.Fatalf("missing endpoint message = %q", e.Error.Message)
	}
	s.Fail(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "   "}, 400)
	s.Fail(t, "POST", "/v1/observer/event", "", 400)
	s.Fail(t, "POST", "/v1/observer/event", "[1,2]", 400)
	bad := s.Fail(t, "POST", "/v1/observer/event", "{\n  \"endpoint\": \"x\",\n  oops\n}", 400)
	if bad.Error.Details["line"] != float64(3) {
		t.Fatalf("invalid JSON details = %v", bad.Error.Details)
	}
	s.Fail(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "x", "timestamp": "yesterday"}, 400)
	s.Fail(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "x", "success": "yes"}, 400)
	s.Fail(t, "POST", "/v1/observer/event", map[string]any{"endpoint": strings.Repeat("x", 4000)}, 413)

	var ok map[string]any
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "/search", "input_summary": "forklift", "latency": 12.5}, 200, &ok)
	if ok["accepted"] != true || ok["source"] != "mcp" {
		t.Fatalf("answer = %v", ok)
	}
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "/sql", "source": "scenario", "success": false,
		"timestamp": "2026-01-02T03:04:05Z", "error": "bad sql"}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "/x", "source": "langfuse", "status": 503, "timestamp": 1767323045}, 200, nil)

	got := getEvents(t, s, url.Values{})
	if got.Count != 3 {
		t.Fatalf("events = %+v (posting events must not add audit rows)", got)
	}
	first := got.Events[0]
	if first["source"] != "mcp" || first["input_summary"] != "forklift" || first["latency"] != 12.5 ||
		first["principal"] != "admin" || first["client_ip"] != "127.0.0.1" || first["success"] != true {
		t.Fatalf("first event = %v", first)
	}
	if ts, _ := time.Parse(time.RFC3339Nano, first["timestamp"].(string)); time.Since(ts) > time.Minute {
		t.Fatalf("timestamp not defaulted to now: %v", first["timestamp"])
	}
	if got.Events[1]["timestamp"] != "2026-01-02T03:04:05Z" || got.Events[1]["success"] != false {
		t.Fatalf("second event = %v", got.Events[1])
	}
	if got.Events[2]["success"] != false || got.Events[2]["timestamp"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("status 503 and unix seconds: %v", got.Events[2])
	}
	st := stats(t, s)
	if st.Total != 3 || st.Successes != 1 || st.Failures != 2 || st.BySource["scenario"] != 1 || len(st.RecentScenarioOps) != 1 {
		t.Fatalf("stats = %+v", st)
	}

	if page := getEvents(t, s, url.Values{"source": {"scenario"}}); page.Count != 1 {
		t.Fatalf("source filter = %+v", page)
	}
	if page := getEvents(t, s, url.Values{"since": {"0"}, "limit": {"2"}}); page.Count != 2 || page.NextSince != 2 {
		t.Fatalf("since=0 pages from the oldest: %+v", page)
	}
	if page := getEvents(t, s, url.Values{"since": {"1"}, "limit": {"1"}}); page.Count != 1 || page.NextSince != 2 {
		t.Fatalf("since/limit page = %+v", page)
	}
	if page := getEvents(t, s, url.Values{"since": {"2026-06-01T00:00:00Z"}}); page.Count != 1 {
		t.Fatalf("since time = %+v", page)
	}
	s.Fail(t, "GET", "/v1/observer/events?since=last+tuesday", nil, 400)
	s.Fail(t, "GET", "/v1/observer/events?limit=-3", nil, 400)

	var health map[string]any
	s.JSON(t, "GET", "/v1/observer/health", nil, 200, &health)
	if health["status"] != "ok" || health["ring_size"] != float64(2000) {
		t.Fatalf("health = %v", health)
	}
}

func TestHTTPFullRingAcceptsAndEvictsOldest(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.RingSize = 3 })
	for i := range 5 {
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": fmt.Sprint("op", i)}, 200, nil)
	}
	got := getEvents(t, s, url.Values{"limit": {"10"}})
	var eps []string
	for _, ev := range got.Events {
		eps = append(eps, ev["endpoint"].(string))
	}
	if fmt.Sprint(eps) != "[op2 op3 op4]" {
		t.Fatalf("ring = %v", eps)
	}
	if st := stats(t, s); st.Evicted != 2 || st.Total != 5 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestHTTPInbox(t *testing.T) {
	s := apptest.Start(t)
	s.Fail(t, "POST", "/v1/observer/inbox", map[string]any{"sender": "a"}, 400)
	s.Fail(t, "POST", "/v1/observer/inbox", map[string]any{"body": "x", "priority": "whenever"}, 400)
	s.Fail(t, "POST", "/v1/observer/inbox", map[string]any{"body": "x", "type": "fax"}, 400)
	s.Fail(t, "POST", "/v1/observer/inbox", map[string]any{"body": strings.Repeat("b", 9000)}, 413)
	var ok map[string]any
	s.JSON(t, "POST", "/v1/observer/inbox", map[string]any{
		"type": "sms", "sender": "ops\r\nBcc: evil@example.com", "subject": strings.Repeat("s", 300), "body": "crane down", "tag": "site-4",
	}, 200, &ok)
	if ok["priority"] != "medium" {
		t.Fatalf("answer = %v", ok)
	}
	ev := getEvents(t, s, url.Values{"source": {"inbox"}}).Events
	if len(ev) != 1 {
		t.Fatalf("inbox events = %v", ev)
	}
	if ev[0]["sender"] != "opsBcc: evil@example.com" || len(ev[0]["subject"].(string)) != 256 || ev[0]["endpoint"] != "inbox/sms" || ev[0]["body"] != "crane down" {
		t.Fatalf("inbox event = %v", ev[0])
	}
}

// Every mutating call, whichever module serves it, leaves exactly one
// audit row with who, from where, what and how it went. Routes of modules
// still being written answer 404 and are audited all the same.
func TestHTTPAuditRowPerWrite(t *testing.T) {
	s := apptest.Start(t)
	writes := []struct {
		method, path, module string
		body                 any
	}{
		{"PUT", "/v1/storage/put/notes/a.txt", "storage", "hello"},
		{"PUT", "/v1/storage/objects/bad/../key", "storage", "x"},
		{"DELETE", "/v1/storage/delete/notes/a.txt", "storage", nil},
		{"POST", "/v1/catalog/register", "catalog", map[string]any{"name": "t_audit"}},
		{"POST", "/v1/catalog/register", "catalog", map[string]any{"name": "t_audit",
			"schema_fingerprint": catalog.Fingerprint([]catalog.Column{{Name: "id", Type: "BIGINT"}}), "schema": []any{map[string]any{"name": "id", "type": "BIGINT"}}}},
		{"POST", "/v1/ingest?name=people", "ingest", "id,name\n1,ann\n"},
		{"POST", "/v1/vectors/index", "vector", map[string]any{"name": "idx_audit", "dimension": 3}},
		{"POST", "/v1/vectors/index/idx_audit/add", "vector", map[string]any{"items": []any{map[string]any{"id": "a", "vector": []float64{1, 0, 0}}}}},
		{"DELETE", "/v1/vectors/index/idx_audit", "vector", nil},
		{"POST", "/v1/pathway/add", "pathway", map[string]any{"content": map[string]any{"note": "x"}}},
		{"POST", "/v1/pathway/retire", "pathway", map[string]any{"uid": "missing"}},
		// No module serves it: the server answered (the module comes from
		// the matched route, never from the URL).
		{"POST", "/v1/nosuchmodule/thing", "server", map[string]any{}},
	}
	for _, w := range writes {
		before := stats(t, s).LastID
		resp, _ := s.Do(t, w.method, w.path, w.body)
		t.Logf("%s %s -> %d", w.method, w.path, resp.StatusCode)
		rows := getEvents(t, s, url.Values{"since": {fmt.Sprint(before)}, "source": {"audit"}}).Events
		if len(rows) != 1 {
			t.Errorf("%s %s: %d audit rows, want 1", w.method, w.path, len(rows))
			continue
		}
		r := rows[0]
		if r["module"] != w.module || r["method"] != w.method || r["status"] != float64(resp.StatusCode) ||
			r["success"] != (resp.StatusCode < 400) || r["principal"] != "admin" || r["client_ip"] != "127.0.0.1" {
			t.Errorf("%s %s (status %d): row %v", w.method, w.path, resp.StatusCode, r)
		}
		if _, ok := r["duration_ms"].(float64); !ok {
			t.Errorf("%s %s: no duration: %v", w.method, w.path, r)
		}
		if resp.StatusCode >= 400 && r["error"] == nil {
			t.Errorf("%s %s: failed write without error text: %v", w.method, w.path, r)
		}
	}
	// Reads are not audited, nor are POSTs marked read-only.
	before := stats(t, s).LastID
	s.Do(t, "GET", "/v1/storage/list", nil)
	s.Do(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT 1"})
	s.Do(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift"}})
	s.Do(t, "POST", "/v1/pathway/search", map[string]any{"text": "x"})
	s.Do(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "x"})
	rows := getEvents(t, s, url.Values{"since": {fmt.Sprint(before)}}).Events
	if len(rows) != 1 || rows[0]["source"] != "mcp" {
		t.Errorf("reads left rows (only the reported event should be there): %v", rows)
	}
	// Without a token the write is refused before it is served, and the
	// gate answers 401 (not audited: no principal, nothing happened).
	resp, _ := s.DoHeader(t, "PUT", "/v1/storage/put/x", "y", http.Header{"Authorization": {""}})
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
}

func TestHTTPPersistFailureCountedNeverFailsRequests(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.FlushInterval = config.Duration(30 * time.Millisecond) })
	// An unwritable target: a plain file where the segment directory must
	// go (root ignores permission bits, not this).
	blocker := filepath.Join(s.DataDir, "objects", "_observer")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": fmt.Sprint("e", i)}, 200, nil)
	}
	s.JSON(t, "PUT", "/v1/storage/put/ok.txt", "fine", 201, nil)
	apptest.WaitFor(t, "a counted persist failure", func() bool { return stats(t, s).PersistFailures > 0 })
	var health map[string]any
	s.JSON(t, "GET", "/v1/observer/health", nil, 200, &health)
	if health["status"] != "degraded" {
		t.Fatalf("health = %v", health)
	}
	resp, body := s.Do(t, "GET", "/ready", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "persistence") {
		t.Fatalf("/ready = %d %s", resp.StatusCode, body)
	}
	if n := getEvents(t, s, url.Values{}).Count; n != 4 {
		t.Fatalf("ring lost events during the outage: %d", n)
	}
	// The target comes back: the queued events are written, nothing lost.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, "the backlog to drain", func() bool {
		var h struct {
			Persist observer.PersistStatus `json:"persist"`
		}
		s.JSON(t, "GET", "/v1/observer/health", nil, 200, &h)
		return h.Persist.Pending == 0 && h.Persist.LastError == ""
	})
	s = s.Restart(t)
	if st := stats(t, s); st.Total < 4 {
		t.Fatalf("after restart total = %d", st.Total)
	}
}

func TestHTTPReplayAfterRestart(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.RingSize = 5 })
	for i := range 7 {
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": fmt.Sprint("op", i), "source": "scenario"}, 200, nil)
	}
	before := stats(t, s)
	s = s.Restart(t) // a clean stop flushes what is pending
	after := stats(t, s)
	if after.Total != before.Total || after.BySource["scenario"] != 7 || after.LastID != 7 || after.RingLen != 5 {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	var ok map[string]any
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "new"}, 200, &ok)
	if ok["id"] != float64(8) {
		t.Fatalf("id after replay = %v", ok["id"])
	}
}

// observer.persist = false: ring only, nothing written, nothing replayed,
// and the dataset is still published (straight from the ring's feed).
func TestHTTPPersistOff(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Observer.Persist = false })
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "x"}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	if _, err := os.Stat(filepath.Join(s.DataDir, "objects", "_observer")); !os.IsNotExist(err) {
		t.Fatalf("segments written with persist off: %v", err)
	}
	var ans apptest.SQLAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT endpoint FROM observer_events WHERE source = 'mcp'"}, 200, &ans)
	if fmt.Sprint(ans.Rows) != "[[x]]" {
		t.Fatalf("dataset rows = %v", ans.Rows)
	}
	s = s.Restart(t)
	if st := stats(t, s); st.Total != 0 || st.RingLen != 0 {
		t.Fatalf("persist off replayed something: %+v", st)
	}
	// Ids go on after the dataset's, so new rows are exported, not
	// mistaken for ones already there.
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "y"}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT endpoint, count(*) OVER (), count(DISTINCT id) OVER () FROM observer_events WHERE source = 'mcp' ORDER BY id"}, 200, &ans)
	if len(ans.Rows) != 2 || ans.Rows[1][0] != "y" {
		t.Fatalf("dataset rows after restart = %v", ans.Rows)
	}
}
