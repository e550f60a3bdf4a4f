package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"lakehouse/modules/kit"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrSizeMismatch: the body was shorter or longer than its declared size.
var ErrSizeMismatch = kit.NewKind(http.StatusBadRequest, "bad_request", "body size differs from the declared length")

// ErrNoSpace: the backend is out of space or quota.
var ErrNoSpace = kit.NewKind(http.StatusInsufficientStorage, "insufficient_storage", "storage is full")

// fsErr turns an OS error of the local backend into one that names the
// key, never the file's path: *fs.PathError and *os.LinkError carry the
// absolute path of the data dir, which a client must not learn. Errors a
// client caused become the sentinel its status comes from.
func (l *Local) fsErr(op, key string, err error) error {
	if errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err
	}
	errno := stripPath(err)
	switch {
	case errors.Is(errno, fs.ErrNotExist) || errors.Is(errno, fs.ErrInvalid):
		return fmt.Errorf("storage: %s %s: %w", op, key, ErrNotFound)
	case errors.Is(errno, syscall.ENOTDIR), errors.Is(errno, syscall.EISDIR),
		errors.Is(errno, syscall.EEXIST), errors.Is(errno, syscall.ENOTEMPTY):
		if op == "get" || op == "stat" {
			return fmt.Errorf("storage: %s %s: %w", op, key, ErrNotFound)
		}
		return l.conflict(key)
	case errors.Is(errno, syscall.ENAMETOOLONG):
		return fmt.Errorf("%w: %q: a segment or the whole key is too long for the file system", ErrInvalidKey, key)
	case errors.Is(errno, syscall.ENOSPC), errors.Is(errno, syscall.EDQUOT):
		return fmt.Errorf("storage: %s %s: %w", op, key, ErrNoSpace)
	}
	return fmt.Errorf("storage: %s %s: %w", op, key, errno)
}

// stripPath returns the error under an OS wrapper that names a path.
func stripPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	case errors.As(err, &se):
		return se.Err
	}
	return err
}

// conflict explains a file/directory clash by key: either an ancestor of
// key is an object, or key itself is a prefix of other objects.
func (l *Local) conflict(key string) error {
	segs := strings.Split(key, "/")
	for i := 1; i < len(segs); i++ {
		anc := strings.Join(segs[:i], "/")
		if st, err := os.Lstat(filepath.Join(l.root, filepath.FromSlash(anc))); err == nil && !st.IsDir() {
			return fmt.Errorf("%w: %q cannot be stored because %q is an object (on local storage an object cannot also be a prefix of other keys)", ErrConflict, key, anc)
		}
	}
	return fmt.Errorf("%w: %q is a prefix of other objects (on local storage a prefix cannot also be an object)", ErrConflict, key)
}

func isNotDir(err error) bool {
	return errors.Is(stripPath(err), syscall.ENOTDIR)
}
