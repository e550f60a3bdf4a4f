//go:build !unix

package cli

import "os"

// tryLock is a no-op where flock is unavailable: the modules' own locks
// (DuckDB's, the pathway log's) still keep a second process out.
func tryLock(*os.File) (bool, error) { return false, nil }

func unlock(*os.File) {}
