package app

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"lakehouse/internal/fsx"
)

// sessionsFile is where the session store is saved, under the data dir.
// Only hashes of session ids are in it (and each session's CSRF token,
// which is no credential without the cookie).
const sessionsFile = "_auth/sessions.json"

type savedSession struct {
	Key       string    `json:"key"` // hex SHA-256 of the session id
	Principal string    `json:"principal"`
	CSRF      string    `json:"csrf"`
	Client    string    `json:"client,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

type savedSessions struct {
	Version  int            `json:"version"`
	Sessions []savedSession `json:"sessions"`
}

// openSessionStore loads the sessions saved under dataDir (none yet is
// fine), dropping expired ones.
func openSessionStore(dataDir string) (*sessionStore, error) {
	s := newSessionStore()
	if dataDir == "" {
		return s, nil
	}
	s.file = filepath.Join(dataDir, filepath.FromSlash(sessionsFile))
	b, err := os.ReadFile(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: sessions: %w", err)
	}
	var saved savedSessions
	if err := json.Unmarshal(b, &saved); err != nil {
		// A damaged file costs everyone one login, never the server's start.
		return s, nil
	}
	now := s.now()
	for _, ss := range saved.Sessions {
		k, err := hex.DecodeString(ss.Key)
		if err != nil || len(k) != 32 || now.After(ss.ExpiresAt) {
			continue
		}
		var key [32]byte
		copy(key[:], k)
		s.m[key] = &session{principal: ss.Principal, csrf: []byte(ss.CSRF), created: ss.CreatedAt,
			expires: ss.ExpiresAt, client: ss.Client}
	}
	return s, nil
}

// saveLocked writes the store to its file (temp file, fsync, rename, dir
// fsync), so a crash leaves either the old or the new list.
func (s *sessionStore) saveLocked() error {
	if s.file == "" {
		return nil
	}
	out := savedSessions{Version: 1, Sessions: make([]savedSession, 0, len(s.m))}
	for k, v := range s.m {
		out.Sessions = append(out.Sessions, savedSession{Key: hex.EncodeToString(k[:]), Principal: v.principal,
			CSRF: string(v.csrf), Client: v.client, CreatedAt: v.created.UTC(), ExpiresAt: v.expires.UTC()})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("auth: sessions: %w", err)
	}
	if err := fsx.MkdirAll(filepath.Dir(s.file), 0o700); err != nil {
		return fmt.Errorf("auth: sessions: %w", err)
	}
	if err := fsx.WriteFileAtomic(s.file, b); err != nil {
		return fmt.Errorf("auth: sessions: %w", err)
	}
	return nil
}
