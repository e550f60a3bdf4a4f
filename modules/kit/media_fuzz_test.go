package kit

import (
	"strings"
	"testing"
)

// FuzzMediaType: any Content-Type never panics, and a JSON route never
// admits the three types a browser can send cross-site without preflight.
func FuzzMediaType(f *testing.F) {
	for _, s := range []string{"application/json", "text/plain", "multipart/form-data; boundary=x",
		"application/x-www-form-urlencoded", "application/json; charset=utf-8", "TEXT/PLAIN;", "application/+json", ";;;", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		ok := mediaAllowed(ct, nil)
		low := strings.ToLower(strings.TrimSpace(ct))
		for _, simple := range []string{"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"} {
			if ok && strings.HasPrefix(low, simple) {
				t.Fatalf("JSON route admits %q", ct)
			}
		}
	})
}
