// Package kill9 holds the mixed crash test: one lakehouse process killed
// with SIGKILL again and again while ingest, vector adds and pathway writes
// run at once, checking after every restart that each acknowledged write
// is there and no version is half-registered. Per-module crash tests live
// beside their modules; this one is about their writes interleaving.
package kill9
