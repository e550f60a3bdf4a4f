package fsx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Default permissions of everything lakehouse writes under its data dir:
// owner only. Data files hold whatever users ingested; other accounts on
// the machine have no business reading them.
const (
	DefaultFileMode fs.FileMode = 0o600
	DefaultDirMode  fs.FileMode = 0o700
)

// UmaskFor is the process umask that makes files created with 0666 and
// directories created with 0777 come out no wider than file and dir:
// every permission bit neither mode grants is masked.
func UmaskFor(file, dir fs.FileMode) int {
	return int(0o777 &^ (file.Perm() | dir.Perm()))
}

// MkdirAll creates dir and any missing parents with exactly mode (the
// umask does not narrow or widen it), leaving existing directories as they
// are. A path component that exists as a file is an error wrapping
// syscall.ENOTDIR, as with os.MkdirAll.
func MkdirAll(dir string, mode fs.FileMode) error {
	st, err := os.Stat(dir)
	if err == nil {
		if st.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: dir, Err: errNotDir}
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := MkdirAll(parent, mode); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
				return nil // created concurrently
			}
		}
		return err
	}
	return os.Chmod(dir, mode)
}
