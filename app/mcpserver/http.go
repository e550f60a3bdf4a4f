package mcpserver

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/app"
	"lakehouse/modules/kit"
)

// ModeHTTP is reported by sessions served over Streamable HTTP (/mcp).
const ModeHTTP = "http"

// HTTPEndpoint serves MCP over Streamable HTTP at /mcp, behind the
// server's gate: each session gets its own MCP server acting for the
// principal that opened it — its role decides the tools listed, its
// grants what the tools can see, since every tool call goes through the
// API routes in-process as that principal. A session id is honoured only
// for the principal that opened it. It implements kit.Endpoint.
type HTTPEndpoint struct {
	// Opts are the caps and timeouts every session uses (Server, HTTP,
	// Mode and Role are set per session).
	Opts Options
	// SessionTimeout closes a session idle this long (default 30m).
	SessionTimeout time.Duration
}

// Path implements kit.Endpoint.
func (HTTPEndpoint) Path() string { return "/mcp" }

// Need implements kit.Endpoint: any principal may speak MCP; what it can
// do there is its role's.
func (HTTPEndpoint) Need() kit.Role { return kit.RoleReader }

// Handler implements kit.Endpoint.
func (h HTTPEndpoint) Handler(api http.Handler) http.Handler {
	timeout := h.SessionTimeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	owners := &sessionOwners{m: map[string]*owned{}, idle: timeout}
	sh := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		p := kit.PrincipalOf(r.Context())
		if p == nil {
			return nil
		}
		opts := h.Opts
		opts.Mode, opts.Server, opts.Role = ModeHTTP, "http://localhost", p.Role
		var rt http.RoundTripper = HandlerTransport(api)
		if p != kit.Anonymous {
			rt = AsPrincipalTransport(p.Name, rt)
		}
		opts.HTTP = &http.Client{Transport: rt}
		s := New(opts)
		if err := s.watch.sync(r.Context()); err != nil {
			s.h.log.Warn("mcp: dataset resources not loaded", "err", err)
		}
		return s.mcp
	}, &mcp.StreamableHTTPOptions{SessionTimeout: timeout, Logger: h.Opts.Log})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := kit.PrincipalOf(r.Context())
		if p == nil {
			writeJSONError(w, http.StatusUnauthorized, "unauthorized", "no principal")
			return
		}
		if id := r.Header.Get("Mcp-Session-Id"); id != "" && !owners.allowed(id, p.Name) {
			// Another principal's session: as if it did not exist.
			writeJSONError(w, http.StatusNotFound, "not_found", "no such MCP session")
			return
		}
		sh.ServeHTTP(&sessionOwner{ResponseWriter: w, name: p.Name, owners: owners}, r)
	})
}

// sessionOwners maps each MCP session to the principal that opened it.
// An entry idle longer than the SDK's session timeout is dropped (the
// session is gone too), so the map stays as small as the live sessions.
type sessionOwners struct {
	mu   sync.Mutex
	m    map[string]*owned
	idle time.Duration
}

type owned struct {
	name string
	last time.Time
}

// allowed reports whether name may use session id (unknown ids are the
// SDK's to refuse), and marks the session used.
func (o *sessionOwners) allowed(id, name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[id]
	if !ok {
		return true
	}
	if e.name != name {
		return false
	}
	e.last = time.Now()
	return true
}

// add records a new session's owner and drops idle entries.
func (o *sessionOwners) add(id, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	for k, e := range o.m {
		if now.Sub(e.last) > o.idle {
			delete(o.m, k)
		}
	}
	if _, ok := o.m[id]; !ok {
		o.m[id] = &owned{name: name, last: now}
	}
}

// sessionOwner records which principal a new session belongs to, from
// the session id the answer carries.
type sessionOwner struct {
	http.ResponseWriter
	name   string
	owners *sessionOwners
	seen   bool
}

func (s *sessionOwner) WriteHeader(code int) {
	if !s.seen {
		s.seen = true
		if id := s.Header().Get("Mcp-Session-Id"); id != "" {
			s.owners.add(id, s.name)
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *sessionOwner) Write(b []byte) (int, error) {
	if !s.seen {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets the SDK stream events through the recorder.
func (s *sessionOwner) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (s *sessionOwner) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// AsPrincipalTransport makes every call through next act for one named
// principal: the gate reads the name from the request's context, which
// nothing from the network can set (`lakehouse mcp --as`, /mcp sessions).
func AsPrincipalTransport(name string, next http.RoundTripper) http.RoundTripper {
	return asPrincipal{name: name, next: next}
}

type asPrincipal struct {
	name string
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (a asPrincipal) RoundTrip(r *http.Request) (*http.Response, error) {
	return a.next.RoundTrip(r.WithContext(app.AsPrincipal(r.Context(), a.name)))
}
