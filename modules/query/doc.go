// Package query is the query module: read-only, locked-down SQL over the
// catalog's datasets on its own embedded DuckDB. Each dataset's latest
// version is a view named after it and older versions are "name@n";
// statements are admitted by DuckDB's own parse tree and statement type,
// external access is off and the configuration is locked. POST /v1/sql
// answers json, ndjson, csv or an Arrow IPC stream. See docs/query.md.
package query
