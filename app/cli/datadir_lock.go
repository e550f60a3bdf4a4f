package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DataDirLockFile is the file in the data dir whose advisory lock marks the
// one process that owns the data dir (`serve`, or `mcp` in in-process
// mode). Its content names the owner, so `lakehouse mcp` can find the
// server to talk to instead.
const DataDirLockFile = "lakehouse.lock"

// errDataDirLocked: another process owns the data dir.
var errDataDirLocked = errors.New("data dir is in use by another lakehouse process")

// dataDirOwner is what the lock file says about the process holding it.
type dataDirOwner struct {
	PID  int    `json:"pid"`
	Mode string `json:"mode"`          // "serve" or "mcp"
	URL  string `json:"url,omitempty"` // the server's base URL (serve only)
}

// describe names the owner for an error message.
func (o dataDirOwner) describe() string {
	s := fmt.Sprintf("pid %d, %s", o.PID, o.Mode)
	if o.URL != "" {
		s += " at " + o.URL
	}
	return s
}

// dataDirLock is held for the life of the owning process; the kernel drops
// it when the process dies, so a crash never leaves the data dir blocked.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the data dir's lock without waiting; errDataDirLocked
// (with the owner, when readable) when another process holds it.
func lockDataDir(dir, mode string) (*dataDirLock, error) {
	path := filepath.Join(dir, DataDirLockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	if held {
		f.Close()
		if o, rerr := readDataDirOwner(dir); rerr == nil {
			return nil, fmt.Errorf("%w (%s)", errDataDirLocked, o.describe())
		}
		return nil, errDataDirLocked
	}
	l := &dataDirLock{f: f}
	if err := l.announce(dataDirOwner{PID: os.Getpid(), Mode: mode}); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// announce rewrites the lock file's description of this process.
func (l *dataDirLock) announce(o dataDirOwner) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	if _, err := l.f.WriteAt(append(data, '\n'), 0); err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	return nil
}

// release drops the lock; the file stays (removing it would race with a
// process that just opened it).
func (l *dataDirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	unlock(l.f)
	_ = l.f.Close()
	l.f = nil
}

// readDataDirOwner reads who holds (or last held) the data dir.
func readDataDirOwner(dir string) (dataDirOwner, error) {
	var o dataDirOwner
	data, err := os.ReadFile(filepath.Join(dir, DataDirLockFile))
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("data dir lock file: %w", err)
	}
	return o, nil
}
