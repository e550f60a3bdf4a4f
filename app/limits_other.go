//go:build !unix

package app

// fdLimit is unknown off unix; the caller picks a conservative default.
func fdLimit() int { return 0 }
