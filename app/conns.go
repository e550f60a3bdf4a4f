package app

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// connGuard caps open client connections so that connections can never use
// up the process's file descriptors (which the data files need too). When
// the cap is reached the guard makes room by closing the connection that
// has been idle longest (a keep-alive between requests, or a connection
// that never sent a byte); only when every connection is mid-request is the
// new one refused. Hundreds of idle sockets therefore cannot keep /health,
// or anyone else, out.
type connGuard struct {
	max int
	log *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]*connEntry
}

type connEntry struct {
	state http.ConnState
	since time.Time
}

func newConnGuard(max int, log *slog.Logger) *connGuard {
	return &connGuard{max: max, log: log, conns: map[net.Conn]*connEntry{}}
}

// listener wraps ln so that every accepted connection passes the guard.
func (g *connGuard) listener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, g: g}
}

type guardedListener struct {
	net.Listener
	g *connGuard
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.g.admit(c) {
			return c, nil
		}
		refuseConn(c)
	}
}

// admit registers c, evicting the longest-idle connection when full; it
// reports false when every open connection is busy.
func (g *connGuard) admit(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.conns) >= g.max {
		victim := g.oldestIdleLocked()
		if victim == nil {
			return false
		}
		delete(g.conns, victim)
		_ = victim.Close()
		if g.log != nil {
			g.log.Debug("connection cap reached: closed the longest-idle connection", "max_connections", g.max)
		}
	}
	g.conns[c] = &connEntry{state: http.StateNew, since: time.Now()}
	return true
}

func (g *connGuard) oldestIdleLocked() net.Conn {
	var victim net.Conn
	var since time.Time
	for c, e := range g.conns {
		if e.state != http.StateIdle && e.state != http.StateNew {
			continue
		}
		if victim == nil || e.since.Before(since) {
			victim, since = c, e.since
		}
	}
	return victim
}

// track is the http.Server ConnState hook.
func (g *connGuard) track(c net.Conn, state http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(g.conns, c)
	default:
		if e, ok := g.conns[c]; ok {
			e.state, e.since = state, time.Now()
		}
	}
}

// open is the number of connections the guard holds (for tests and /ready).
func (g *connGuard) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// refuseConn answers a connection the guard cannot admit with a bare 503
// (the client sees why) and closes it without waiting on the client.
func refuseConn(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Type: application/json\r\nContent-Length: 97\r\n\r\n" +
		`{"error":{"code":"overloaded","message":"too many open connections; retry shortly","details":{}}}`))
	_ = c.Close()
}
