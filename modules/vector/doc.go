// Package vector is the vector module: named HNSW indexes (package hnsw)
// with metadata filters, persisted through storage as a snapshot plus a
// per-batch WAL under _vectors/, served under /v1/vectors and provided to
// other modules as Service. See docs/vector.md.
package vector
