package jsonx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func nested(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

func TestCheckDepth(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		max  int
		fail bool
	}{
		{`1`, 1, false},
		{`{"a":[1,{"b":2}]}`, 3, false},
		{`{"a":[1,{"b":2}]}`, 2, true},
		{`"[[[[[[[[[[[["`, 1, false},      // brackets in strings do not count
		{`{"a\"[[[[":"]]]\\"}`, 1, false}, // escaped quotes keep the string open
		{`{"a":"x\\"}`, 1, false},         // an escaped backslash closes it
		{nested(512), 512, false},
		{nested(513), 512, true},
		{nested(9999), 0, true}, // 0 = DefaultMaxDepth
	} {
		err := CheckDepth([]byte(tc.doc), tc.max)
		if (err != nil) != tc.fail {
			t.Errorf("CheckDepth(%.40q, %d) = %v, want fail=%v", tc.doc, tc.max, err, tc.fail)
		}
		if err != nil {
			var de *DepthError
			if !errors.As(err, &de) || !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "deeper than") {
				t.Errorf("error %v is not a DepthError", err)
			}
		}
	}
	if d := Depth([]byte(`{"a":[1,{"b":"[[["}]}`)); d != 3 {
		t.Errorf("Depth = %d, want 3", d)
	}
}

// TestMemberBeyondDecoderDepth: Member finds a member whose value is too
// deep for encoding/json to decode inside its record.
func TestMemberBeyondDecoderDepth(t *testing.T) {
	deep := nested(DecoderMaxDepth - 1)
	line := `{"op":"add","trace":{"uid":"u\"}","content":` + deep + `,"kind":"k"}}`
	var v any
	if err := json.Unmarshal([]byte(line), &v); err == nil {
		t.Fatal("the record should be too deep for encoding/json")
	}
	s, e, ok := Member([]byte(line), "trace")
	if !ok {
		t.Fatal("trace not found")
	}
	tr := []byte(line)[s:e]
	s2, e2, ok := Member(tr, "content")
	if !ok || string(tr[s2:e2]) != deep {
		t.Fatalf("content = %.40q ok=%v", tr[s2:e2], ok)
	}
	if s3, e3, ok := Member(tr, "kind"); !ok || string(tr[s3:e3]) != `"k"` {
		t.Fatalf("kind = %q", tr[s3:e3])
	}
	if _, _, ok := Member(tr, "missing"); ok {
		t.Fatal("missing key found")
	}
	for _, bad := range []string{``, `[1]`, `{"a"`, `{"a":`, `{"a":"x`, `{"a":[1}`} {
		if _, _, ok := Member([]byte(bad), "b"); ok {
			t.Errorf("Member(%q) ok", bad)
		}
	}
	if s, e, ok := Member([]byte(` { "n" : -1.5e3 , "b":true}`), "n"); !ok || ` { "n" : -1.5e3 , "b":true}`[s:e] != "-1.5e3" {
		t.Errorf("number member = %d..%d ok=%v", s, e, ok)
	}
}
