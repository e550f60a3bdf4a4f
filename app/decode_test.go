package app

import (
	"errors"
	"lakehouse/modules/kit"
	"net/http"
	"strings"
	"testing"
)

type decodeTarget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	for _, c := range []struct {
		body, want string
		line, col  int
		opts       []kit.DecodeOption
	}{
		{body: "", want: "empty body"},
		{body: "  \n", want: "empty body"},
		{body: "[1]", want: "must be a JSON object", line: 1, col: 1},
		{body: "{\n  \"name\": \"x\",\n  oops\n}", want: "line 3, column 3", line: 3, col: 3},
		{body: `{"count": "five"}`, want: `field "count" must be int`, line: 1, col: 17},
		{body: `{"name": "a"} {"name": "b"}`, want: "data after the JSON object", line: 1, col: 15},
		{body: `{"name": "a"`, want: "ends before the object does"},
		{body: `{"name": "a", "extra": 1}`, want: `unknown field "extra"`, opts: []kit.DecodeOption{kit.Strict()}},
	} {
		var v decodeTarget
		err := kit.DecodeJSON(strings.NewReader(c.body), &v, c.opts...)
		e := kit.AsAPIError(err)
		if e.Status != http.StatusBadRequest || e.Code != kit.CodeMalformedJSON || !strings.Contains(e.Message, c.want) {
			t.Errorf("%q: %v, want 400 malformed_json with %q", c.body, err, c.want)
			continue
		}
		if c.line > 0 && (e.Details["line"] != c.line || e.Details["column"] != c.col) {
			t.Errorf("%q: details %v, want line %d column %d", c.body, e.Details, c.line, c.col)
		}
	}
	var v decodeTarget
	if err := kit.DecodeJSON(strings.NewReader(`{"name": "a", "extra": 1}`+"\n"), &v); err != nil || v.Name != "a" {
		t.Fatalf("lenient decode: %v %+v", err, v)
	}
	deep := strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20)
	e := kit.AsAPIError(kit.DecodeJSON(strings.NewReader(deep), &map[string]any{}, kit.MaxDepth(10, "x.max_json_depth")))
	if e.Code != "too_deep" || !strings.Contains(e.Message, "x.max_json_depth") {
		t.Fatalf("deep: %+v", e)
	}
	if err := kit.DecodeJSON(errReader{kit.ErrBodyTooLarge}, &v); !errors.Is(err, kit.ErrBodyTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
