package app

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"lakehouse/modules/kit"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Browser sessions: the web UI asks for the token once and exchanges it
// for an HttpOnly, SameSite=Strict cookie, so no script (ours or an
// injected one) can read the credential. A cookie is sent by the browser
// on its own, which is what CSRF abuses; SameSite=Strict and the edge's
// same-origin check already stop cross-site writes, and as a third line a
// cookie-authenticated write must also carry the session's CSRF token in
// the X-CSRF-Token header, which only our own page can read (from the
// login answer or GET /v1/session). Bearer-token clients are unaffected.

const (
	// SessionCookie is the name of the session cookie.
	SessionCookie = "lakehouse_session"
	// sessionTTL is a session's absolute lifetime: a day's work.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the store; the oldest session goes first.
	maxSessions = 10_000
)

type session struct {
	principal string
	csrf      []byte
	created   time.Time
	expires   time.Time
	client    string // the address that logged in (shown to admins)
}

// sessionStore maps the SHA-256 of a session id to the session. Keying
// by the hash means neither the map nor the file it is saved to ever
// holds a usable cookie value, and the lookup's timing depends on the
// hash, not on how much of the id an attacker guessed. With a file, every
// change is saved (temp file, fsync, rename) before it is answered, so
// sessions survive a restart and a revoked one stays revoked.
type sessionStore struct {
	mu   sync.Mutex
	m    map[[32]byte]*session
	now  func() time.Time
	file string // "" = memory only
}

func newSessionStore() *sessionStore {
	return &sessionStore{m: map[[32]byte]*session{}, now: time.Now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for principal and returns its id and CSRF token.
func (s *sessionStore) create(principal, client string) (id string, sess *session, err error) {
	id = randomToken()
	now := s.now()
	sess = &session{principal: principal, csrf: []byte(randomToken()), created: now, expires: now.Add(sessionTTL), client: client}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredLocked(now)
	for len(s.m) >= maxSessions {
		var oldest [32]byte
		var t time.Time
		for k, v := range s.m {
			if t.IsZero() || v.expires.Before(t) {
				oldest, t = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
	key := sha256.Sum256([]byte(id))
	s.m[key] = sess
	if err := s.saveLocked(); err != nil {
		delete(s.m, key)
		return "", nil, err
	}
	return id, sess, nil
}

func (s *sessionStore) dropExpiredLocked(now time.Time) {
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
}

// lookup returns the live session for the request's cookie, if any.
func (s *sessionStore) lookup(r *http.Request) (*session, [32]byte, bool) {
	if s == nil { // a Gate built without NewGate has no sessions
		return nil, [32]byte{}, false
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, [32]byte{}, false
	}
	key := sha256.Sum256([]byte(ck.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return nil, key, false
	}
	if s.now().After(sess.expires) {
		delete(s.m, key)
		return nil, key, false
	}
	return sess, key, true
}

// delete ends the sessions keep selects; it reports how many ended.
func (s *sessionStore) delete(match func(key [32]byte, sess *session) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	removed := map[[32]byte]*session{}
	for k, v := range s.m {
		if match(k, v) {
			removed[k] = v
			delete(s.m, k)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.saveLocked(); err != nil {
		for k, v := range removed {
			s.m[k] = v
		}
		return 0, err
	}
	return n, nil
}

// SessionInfo describes one live session to an admin. ID is a prefix of
// the hash of the cookie (never the cookie): enough to revoke it, useless
// to log in with.
type SessionInfo struct {
	ID        string    `json:"id"`
	Principal string    `json:"principal"`
	Client    string    `json:"client,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func sessionID(key [32]byte) string { return hex.EncodeToString(key[:8]) }

// list returns the live sessions, newest first.
func (s *sessionStore) list() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := []SessionInfo{}
	for k, v := range s.m {
		if now.After(v.expires) {
			continue
		}
		out = append(out, SessionInfo{ID: sessionID(k), Principal: v.principal, Client: v.client,
			CreatedAt: v.created.UTC(), ExpiresAt: v.expires.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// checkCSRF requires the session's token on a state-changing request.
func checkCSRF(r *http.Request, sess *session) error {
	if !kit.StateChanging(r.Method) {
		return nil
	}
	got := r.Header.Get(kit.CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), sess.csrf) != 1 {
		return kit.Errorf(http.StatusForbidden, "csrf",
			"a %s with the session cookie must carry the session's CSRF token in the %s header (GET /v1/session returns it)",
			r.Method, kit.CSRFHeader)
	}
	return nil
}
