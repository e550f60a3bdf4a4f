package jsonx

import (
	"encoding/json"
	"testing"
)

// FuzzMember: Member and CheckDepth never panic; on valid JSON a member
// found is itself valid JSON, and Depth agrees with CheckDepth.
func FuzzMember(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"]"]},"c":"\"}"}`, `[1]`, `{"a"`, `{"a":[[[[`, ` {"k" : true , "n":null}`} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		d := Depth(data)
		if CheckDepth(data, max(d, 1)) != nil {
			t.Fatalf("CheckDepth(%q, %d) fails though Depth is %d", data, max(d, 1), d)
		}
		s, e, ok := Member(data, key)
		if !ok {
			return
		}
		if s < 0 || e > len(data) || s > e {
			t.Fatalf("range %d..%d of %d bytes", s, e, len(data))
		}
		if json.Valid(data) && !json.Valid(data[s:e]) {
			t.Fatalf("member %q of valid %q is not valid JSON", data[s:e], data)
		}
	})
}
