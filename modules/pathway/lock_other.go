//go:build !unix

package pathway

import "errors"

// fileLock is a no-op where flock is unavailable.
type fileLock struct{}

// ErrLocked: another process holds the log.
var ErrLocked = errors.New("pathway: log is locked by another process")

func lockFile(string) (*fileLock, error) { return &fileLock{}, nil }

func (l *fileLock) release() {}
