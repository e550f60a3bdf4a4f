package pathway_test

import (
	"strings"
	"testing"
)

// TestHTTP_DeepContentRefusedNothingLost: content nested 9 999 levels was
// acknowledged (200) and then dropped at replay; now it is a 400 naming
// the cap, and what was stored before survives a restart.
func TestHTTP_DeepContentRefusedNothingLost(t *testing.T) {
	s := startPathway(t)
	var a traceJSON
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"keep": "me"}}, 200, &a)
	deep := strings.Repeat("[", 9999) + "1" + strings.Repeat("]", 9999)
	for _, route := range []string{"/v1/pathway/add", "/v1/pathway/add_idempotent", "/v1/pathway/search"} {
		e := s.Fail(t, "POST", route, `{"uid":"u","content":`+deep+`}`, 400)
		if e.Error.Code != "too_deep" || !strings.Contains(e.Error.Message, "512") || !strings.Contains(e.Error.Message, "max_json_depth") {
			t.Fatalf("%s: %+v", route, e)
		}
	}
	e := s.Fail(t, "POST", "/v1/pathway/update", `{"uid":"`+a.UID+`","content":{"a":`+strings.Repeat("[", 600)+strings.Repeat("]", 600)+`}}`, 400)
	if e.Error.Code != "too_deep" {
		t.Fatalf("update: %+v", e)
	}
	s = s.Restart(t)
	var got traceJSON
	s.JSON(t, "GET", "/v1/pathway/get/"+a.UID, nil, 200, &got)
	if string(got.Content) != `{"keep":"me"}` {
		t.Fatalf("after restart: %s", got.Content)
	}
}
