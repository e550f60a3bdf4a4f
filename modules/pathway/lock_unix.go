//go:build unix

package pathway

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an advisory exclusive lock that keeps a second process (a
// second server, or `lakehouse pathway compact` while one runs) from
// appending to the same log. The kernel drops it when the process dies.
type fileLock struct{ f *os.File }

// ErrLocked: another process holds the log.
var ErrLocked = errors.New("pathway: log is locked by another process")

func lockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pathway: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s): is a lakehouse server running on this data dir?", ErrLocked, path)
		}
		return nil, fmt.Errorf("pathway: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
