package app

import (
	"lakehouse/modules/kit"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// failLimiter answers token guessing: a client address that fails
// authentication more than max times within window gets 429 for every
// further wrong credential until the window has passed. A right
// credential is never refused (the gate compares first), so one client's
// failures cannot lock out the others sharing its address (a reverse
// proxy); tokens are long and random (`lakehouse token create`), which is
// what makes guessing hopeless, and the 429 keeps the guesses out of the
// logs' error rate. Successful requests are never counted; the table is
// bounded so a flood of addresses cannot grow it without end.
type failLimiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[netip.Addr]*failCount
}

type failCount struct {
	n     int
	start time.Time
}

const (
	authFailMax     = 20
	authFailWindow  = time.Minute
	authFailEntries = 65536
)

func newFailLimiter() *failLimiter {
	return &failLimiter{max: authFailMax, window: authFailWindow, fails: map[netip.Addr]*failCount{}}
}

// blocked reports whether ip has used up its failures; the error carries
// Retry-After.
func (l *failLimiter) blocked(ip netip.Addr, now time.Time) *kit.APIError {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.fails[ip]
	if !ok {
		return nil
	}
	if now.Sub(f.start) >= l.window {
		delete(l.fails, ip)
		return nil
	}
	if f.n < l.max {
		return nil
	}
	wait := int(l.window-now.Sub(f.start))/int(time.Second) + 1
	e := kit.Errorf(http.StatusTooManyRequests, "too_many_auth_failures",
		"%d failed authentications from %s in the last %s; retry in %d s", f.n, ip, l.window, wait)
	e.Header = http.Header{"Retry-After": []string{itoa(wait)}}
	return e
}

// fail records one failed authentication from ip.
func (l *failLimiter) fail(ip netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.fails[ip]
	if !ok || now.Sub(f.start) >= l.window {
		if !ok && len(l.fails) >= authFailEntries {
			for k, v := range l.fails { // drop expired entries, else an arbitrary one
				if now.Sub(v.start) >= l.window {
					delete(l.fails, k)
				}
			}
			for k := range l.fails {
				if len(l.fails) < authFailEntries {
					break
				}
				delete(l.fails, k)
			}
		}
		l.fails[ip] = &failCount{n: 1, start: now}
		return
	}
	f.n++
}

func itoa(n int) string {
	if n <= 0 {
		return "1"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
