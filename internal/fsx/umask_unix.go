//go:build unix

package fsx

import (
	"io/fs"
	"syscall"
)

var errNotDir error = syscall.ENOTDIR

// ApplyModes sets the process umask from the configured file and
// directory modes, so every file the process creates — including those
// DuckDB and other libraries create on their own — is no wider than the
// configuration allows. It returns the previous umask.
func ApplyModes(file, dir fs.FileMode) int {
	return syscall.Umask(UmaskFor(file, dir))
}
