// Package observer is lakehouse's audit witness. It provides the process's
// kit.AuditSink (one row per mutating /v1 call, recorded by the server's
// audit middleware), accepts ops reported by outside clients and inbox
// messages, and records the rows of the workflow runner (the workflow
// module, one row per node as each finishes; it runs the workflows).
//
// Every row lands in a bounded in-memory ring (the in-flight source of
// truth), is persisted through storage.Store as immutable JSONL segments
// replayed at start, and, when the catalog runs, is published as Parquet
// parts of the "observer_events" dataset so SQL can query the trail.
// A persistence failure is counted and logged; it never fails a request.
// See docs/observer.md.
package observer
