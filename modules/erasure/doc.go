// Package erasure forgets a person everywhere lakehouse holds them: one
// admin request names a match (key columns and values, or a free-text
// value such as an email), and a job rewrites every Parquet part of every
// retained version that holds a matching row (the catalog then names the
// rewrites in every version, and rebuilds the dataset's Iceberg table so
// no snapshot or manifest refers to the old parts), deletes the old
// parts and any unreferenced part holding a match, and removes matching
// vector items with their texts from the graph, keyword index, WAL and
// snapshots. The job's state is saved in storage after every step, so a
// job killed half-way resumes at the next start; it ends with a receipt
// (counts, who, when — never the values) in the audit trail.
package erasure
