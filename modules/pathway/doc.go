// Package pathway is the trace memory: traces (JSON content with uid,
// tags, kind, timestamps, a revision chain, a retired flag and a replay
// counter) kept in memory and made durable by an append-only JSONL log
// with group commit, replayed at start and compacted atomically. Search
// filters and ranks lexically (BM25), or semantically through the embed
// and vector modules when they run. The Store interface (store.go) is
// what other modules use; routes.go serves /v1/pathway. See
// docs/pathway.md.
package pathway
