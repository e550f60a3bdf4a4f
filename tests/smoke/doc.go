// Package smoke is the product's acceptance suite: the scenarios a release
// must pass, run against the built binary (bin/lakehouse, named by
// LAKEHOUSE_BIN) as a user runs it — a child process on 127.0.0.1 with its
// own data dir, a config file and a token, and a real MinIO for the S3
// scenarios. Module tests check each piece in-process; this suite checks
// that the shipped artifact (static link, embedded model and UI, flags,
// config loading) does what the README promises. `make smoke` builds the
// binary and runs it; `make test` runs it too. Without LAKEHOUSE_BIN every
// test skips, so `go test ./...` stays fast and green.
package smoke
