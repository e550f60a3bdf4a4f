package app

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"lakehouse/config"
)

// FuzzGate: any Authorization and X-Forwarded-For headers from any peer
// never panic; only the exact token passes; the client address the gate
// decides on is either the peer or a hop from the header, never a trusted
// proxy when an untrusted hop exists, and an unparsable hop is refused.
// The seed corpus runs in a normal `go test`; `make fuzz` runs it long.
func FuzzGate(f *testing.F) {
	seeds := []struct{ auth, xff, xff2, peer string }{
		{"Bearer tok", "203.0.113.5", "", "127.0.0.1:1"},
		{"Bearer tok", "203.0.113.5, 10.0.0.1", "198.51.100.1", "127.0.0.1:1"},
		{"Bearer tokk", "", "", "10.0.0.9:5"},
		{"bearer tok", "garbage,,", "::1", "[::1]:80"},
		{"Bearer \x00tok", "[2001:db8::1]:443", "1.2.3.4:5", "127.0.0.1:1"},
		{"", "::ffff:203.0.113.5", "", "127.0.0.1:1"},
		{"Bearer tok", strings.Repeat("1.1.1.1,", 50), "", "127.0.0.1:1"},
	}
	for _, s := range seeds {
		f.Add(s.auth, s.xff, s.xff2, s.peer)
	}
	g, err := NewGate(config.AuthConfig{Token: "tok", SecondaryTokens: []string{"old"},
		AllowedIPs: []string{"203.0.113.0/24", "::1/128"}, TrustedProxies: []string{"127.0.0.1/32", "10.0.0.0/8"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, auth, xff, xff2, peer string) {
		who, ok := g.authenticate(auth)
		if ok != (auth == "Bearer tok" || auth == "Bearer old") {
			t.Fatalf("authenticate(%q) = %s %v", auth, who, ok)
		}
		r := &http.Request{RemoteAddr: peer, Header: http.Header{}}
		if xff != "" {
			r.Header.Add("X-Forwarded-For", xff)
		}
		if xff2 != "" {
			r.Header.Add("X-Forwarded-For", xff2)
		}
		ip, err := g.clientIP(r)
		p := parseHostAddr(peer)
		if !containsAddr(g.proxies, p) {
			if err != nil || ip != p {
				t.Fatalf("untrusted peer %q: got %v %v", peer, ip, err)
			}
			return
		}
		if err != nil {
			return // refused: fail closed is always acceptable
		}
		if ip != p && !strings.Contains(xff+","+xff2, strings.TrimPrefix(ip.String(), "::ffff:")) && !hopMatches(xff+","+xff2, ip) {
			t.Fatalf("client %v appears neither as the peer nor in the header", ip)
		}
	})
}

func hopMatches(header string, ip netip.Addr) bool {
	for _, h := range strings.Split(header, ",") {
		if a, err := parseHopAddr(strings.TrimSpace(h)); err == nil && a == ip {
			return true
		}
	}
	return false
}
