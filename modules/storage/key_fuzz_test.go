package storage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidateKey: any string is either refused or a key that cannot
// climb out of its root or hide control bytes: relative, no empty, "." or
// ".." segment, no backslash or control character, valid UTF-8, bounded.
// The seeds run in a normal `go test`.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a/b.parquet", "", "/abs", "a/../b", "a//b", "a/./b", "a\\b", "a\x00b", "a\nb",
		"\xff\xfe", strings.Repeat("x", 300), "datasets/x/part-0.parquet", "..", ".", "a/", "ü/ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		if key == "" || len(key) > 1024 || !utf8.ValidString(key) || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
			t.Fatalf("accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > 255 {
				t.Fatalf("accepted %q (segment %q)", key, seg)
			}
		}
		for _, r := range key {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted %q with a control character", key)
			}
		}
	})
}
