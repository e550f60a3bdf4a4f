//go:build !unix

package fsx

import (
	"io/fs"
	"syscall"
)

var errNotDir error = syscall.ENOTDIR

// ApplyModes is a no-op where there is no umask; it returns 0.
func ApplyModes(file, dir fs.FileMode) int { return 0 }
