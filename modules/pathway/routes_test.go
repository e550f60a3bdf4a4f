package pathway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/pathway"
)

// startPathway boots the real server with auth on and only the pathway
// module (no embed/vector: lexical ranking).
func startPathway(t *testing.T) *apptest.Server {
	t.Helper()
	return apptest.Start(t, func(c *config.Config) { c.Modules = []string{"pathway"} })
}

type traceJSON struct {
	UID            string          `json:"uid"`
	Content        json.RawMessage `json:"content"`
	PredecessorUID string          `json:"predecessor_uid"`
	CreatedAtNs    int64           `json:"created_at_ns"`
	UpdatedAtNs    int64           `json:"updated_at_ns"`
	Retired        bool            `json:"retired"`
	ReplayCount    int64           `json:"replay_count"`
	Tags           []string        `json:"tags"`
	Kind           string          `json:"kind"`
}

func TestHTTP_AuthRequired(t *testing.T) {
	s := startPathway(t)
	for _, r := range []struct{ method, path string }{
		{"POST", "/v1/pathway/add"}, {"GET", "/v1/pathway/stats"}, {"GET", "/v1/pathway/get/x"}, {"POST", "/v1/pathway/search"},
	} {
		resp, _ := s.DoHeader(t, r.method, r.path, `{"content":1}`, http.Header{"Authorization": {""}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without token: %d, want 401", r.method, r.path, resp.StatusCode)
		}
		resp, _ = s.DoHeader(t, r.method, r.path, `{"content":1}`, http.Header{"Authorization": {"Bearer wrong"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong token: %d, want 401", r.method, r.path, resp.StatusCode)
		}
	}
}

func TestHTTP_Lifecycle(t *testing.T) {
	s := startPathway(t)
	var a traceJSON
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"role": "forklift driver"}, "tags": []string{"ops"}}, 200, &a)
	if a.UID == "" || string(a.Content) != `{"role":"forklift driver"}` || a.CreatedAtNs == 0 || a.Tags[0] != "ops" {
		t.Fatalf("add: %+v", a)
	}
	// The exact key set of the original's Trace JSON.
	_, body := s.Do(t, "GET", "/v1/pathway/get/"+a.UID, nil)
	var keys map[string]any
	json.Unmarshal(body, &keys)
	for _, k := range []string{"uid", "content", "created_at_ns", "updated_at_ns", "retired", "replay_count", "tags"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("trace JSON lacks %q: %s", k, body)
		}
	}
	if _, ok := keys["predecessor_uid"]; ok {
		t.Errorf("predecessor_uid present on a first trace: %s", body)
	}

	var u traceJSON
	s.JSON(t, "POST", "/v1/pathway/update", map[string]any{"uid": a.UID, "content": "v2"}, 200, &u)
	if u.UID != a.UID || string(u.Content) != `"v2"` || u.UpdatedAtNs <= a.UpdatedAtNs {
		t.Fatalf("update: %+v", u)
	}
	var r traceJSON
	s.JSON(t, "POST", "/v1/pathway/revise", map[string]any{"predecessor_uid": a.UID, "content": []int{3}}, 200, &r)
	if r.PredecessorUID != a.UID || r.UID == a.UID {
		t.Fatalf("revise: %+v", r)
	}
	var h struct {
		Chain     []traceJSON `json:"chain"`
		Length    int         `json:"length"`
		Truncated bool        `json:"truncated"`
	}
	s.JSON(t, "GET", "/v1/pathway/history/"+r.UID, nil, 200, &h)
	if h.Length != 2 || h.Chain[0].UID != r.UID || h.Chain[1].UID != a.UID || h.Truncated {
		t.Fatalf("history: %+v", h)
	}

	var i1, i2 traceJSON
	s.JSON(t, "POST", "/v1/pathway/add_idempotent", map[string]any{"uid": "job/42 x", "content": "first"}, 200, &i1)
	s.JSON(t, "POST", "/v1/pathway/add_idempotent", map[string]any{"uid": "job/42 x", "content": "second"}, 200, &i2)
	if i2.ReplayCount != 1 || string(i2.Content) != `"first"` || i2.CreatedAtNs != i1.CreatedAtNs {
		t.Fatalf("add_idempotent replay: %+v", i2)
	}
	var g traceJSON
	s.JSON(t, "GET", "/v1/pathway/get/"+url.PathEscape("job/42 x"), nil, 200, &g)
	if g.UID != "job/42 x" || g.ReplayCount != 1 {
		t.Fatalf("get escaped uid: %+v", g)
	}

	for _, odd := range []string{"a%41b", "sp ace/and?query#frag", "ünï"} {
		s.JSON(t, "POST", "/v1/pathway/add_idempotent", map[string]any{"uid": odd, "content": 1}, 200, nil)
		s.JSON(t, "GET", "/v1/pathway/get/"+url.PathEscape(odd), nil, 200, &g)
		if g.UID != odd {
			t.Fatalf("get %q returned %q", odd, g.UID)
		}
	}

	var ret traceJSON
	s.JSON(t, "POST", "/v1/pathway/retire", map[string]any{"uid": a.UID}, 200, &ret)
	if !ret.Retired {
		t.Fatalf("retire: %+v", ret)
	}
	s.JSON(t, "GET", "/v1/pathway/get/"+a.UID, nil, 200, &g)
	if !g.Retired {
		t.Fatal("retired trace not returned by get")
	}

	var sr struct {
		Results []traceJSON `json:"results"`
		Count   int         `json:"count"`
		Mode    string      `json:"mode"`
	}
	s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"limit": 50}, 200, &sr)
	if sr.Count != 5 || sr.Mode != pathway.ModeRecent {
		t.Fatalf("search: %+v", sr)
	}
	for _, x := range sr.Results {
		if x.UID == a.UID {
			t.Fatal("retired trace in search results")
		}
	}
	s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"query": "first"}, 200, &sr)
	if sr.Count != 1 || sr.Results[0].UID != "job/42 x" || sr.Mode != pathway.ModeLexical {
		t.Fatalf("text search: %+v", sr)
	}

	var st struct {
		Total, Active, Retired int
		Log                    struct{ Bytes int64 }
	}
	s.JSON(t, "GET", "/v1/pathway/stats", nil, 200, &st)
	if st.Total != 6 || st.Active != 5 || st.Retired != 1 || st.Log.Bytes == 0 {
		t.Fatalf("stats: %+v", st)
	}

	// Everything acknowledged survives a restart; a compaction keeps it.
	s.JSON(t, "POST", "/v1/pathway/compact", nil, 200, nil)
	s = s.Restart(t)
	s.JSON(t, "GET", "/v1/pathway/stats", nil, 200, &st)
	if st.Total != 6 || st.Active != 5 || st.Retired != 1 {
		t.Fatalf("stats after restart: %+v", st)
	}
	s.JSON(t, "GET", "/v1/pathway/history/"+r.UID, nil, 200, &h)
	if h.Length != 2 {
		t.Fatalf("history after restart: %+v", h)
	}
}

func TestHTTP_Errors(t *testing.T) {
	s := startPathway(t)
	cases := []struct {
		path, body string
		status     int
		code       string
	}{
		{"/v1/pathway/add", `{"content": {"a":1,}}`, 400, "malformed_json"},
		{"/v1/pathway/add", `{"tags":["x"]}`, 400, "invalid_content"},
		{"/v1/pathway/add", `{"content": null}`, 400, "invalid_content"},
		{"/v1/pathway/add", ``, 400, "malformed_json"},
		{"/v1/pathway/add", `[1]`, 400, "malformed_json"},
		{"/v1/pathway/add", `{"content":1,"tags":"notalist"}`, 400, "malformed_json"},
		{"/v1/pathway/add_idempotent", `{"content":1}`, 400, "bad_request"},
		{"/v1/pathway/update", `{"uid":"nope","content":1}`, 404, "not_found"},
		{"/v1/pathway/revise", `{"predecessor_uid":"nope","content":1}`, 404, "not_found"},
		{"/v1/pathway/revise", `{"content":1}`, 400, "bad_request"},
		{"/v1/pathway/retire", `{"uid":"nope"}`, 404, "not_found"},
		{"/v1/pathway/retire", `{}`, 400, "bad_request"},
		{"/v1/pathway/search", `{"limit":-1}`, 400, "bad_request"},
	}
	for _, c := range cases {
		e := s.Fail(t, "POST", c.path, c.body, c.status)
		if e.Error.Code != c.code {
			t.Errorf("POST %s %s: code %q, want %q (%s)", c.path, c.body, e.Error.Code, c.code, e.Error.Message)
		}
	}
	e := s.Fail(t, "POST", "/v1/pathway/add", "{\n  \"content\": [1,\n  2,,]\n}", 400)
	if e.Error.Details["line"] != float64(3) || e.Error.Details["column"] == nil {
		t.Fatalf("syntax error details %+v", e.Error)
	}
	s.Fail(t, "GET", "/v1/pathway/get/nope", nil, 404)
	s.Fail(t, "GET", "/v1/pathway/history/nope", nil, 404)
	if st := stats(t, s); st != 0 {
		t.Fatalf("failed requests stored %d traces", st)
	}
}

func stats(t *testing.T, s *apptest.Server) int {
	var st struct{ Total int }
	s.JSON(t, "GET", "/v1/pathway/stats", nil, 200, &st)
	return st.Total
}

func TestHTTP_BodyCap4MiB(t *testing.T) {
	s := startPathway(t)
	// Just under the cap is accepted.
	pad := strings.Repeat("a", 4<<20-64)
	s.JSON(t, "POST", "/v1/pathway/add", `{"content":"`+pad+`"}`, 200, nil)
	// Over it: 413 with a declared length...
	over := `{"content":"` + strings.Repeat("a", 4<<20) + `"}`
	s.Fail(t, "POST", "/v1/pathway/add", over, 413)
	// ...and when streamed without a Content-Length.
	resp, body := s.Do(t, "POST", "/v1/pathway/add_idempotent", io.MultiReader(strings.NewReader(`{"uid":"u","content":"`),
		bytes.NewReader(bytes.Repeat([]byte("b"), 5<<20)), strings.NewReader(`"}`)))
	if resp.StatusCode != 413 || !strings.Contains(string(body), "too_large") {
		t.Fatalf("chunked over-cap body: %d %s", resp.StatusCode, body)
	}
	if st := stats(t, s); st != 1 {
		t.Fatalf("stored %d traces, want only the one under the cap", st)
	}
}

// TestHTTP_BodyCapIndependentOfServerDefault: the pathway cap stays 4 MiB
// when the server-wide JSON cap is raised.
func TestHTTP_BodyCapIndependentOfServerDefault(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Modules = []string{"pathway"}
		c.Server.BodyLimit = 64 << 20
	})
	s.Fail(t, "POST", "/v1/pathway/add", `{"content":"`+strings.Repeat("a", 5<<20)+`"}`, 413)
}

// TestHTTP_AuditWritesNotSearch: pathway writes are audited (observer
// records them), search is a read and is not.
func TestHTTP_AuditWritesNotSearch(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"pathway", "observer"} })
	audits := func() int64 {
		var st struct {
			BySource map[string]int64 `json:"by_source"`
		}
		s.JSON(t, "GET", "/v1/observer/stats", nil, 200, &st)
		return st.BySource["audit"]
	}
	before := audits()
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": "x"}, 200, nil)
	afterAdd := audits()
	for i := 0; i < 3; i++ {
		s.JSON(t, "POST", "/v1/pathway/search", map[string]any{"text": "x"}, 200, nil)
	}
	afterSearch := audits()
	if afterAdd != before+1 || afterSearch != afterAdd {
		t.Fatalf("audit events: before %d, after add %d, after 3 searches %d", before, afterAdd, afterSearch)
	}
}
