package query

import "context"

// Column describes one result column; Type is DuckDB's type name.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is a buffered query answer (the json format of /v1/sql).
type Result struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	RowCount  int      `json:"row_count"`
	Truncated bool     `json:"truncated"`
	// TruncatedReason names the cap that cut the answer, e.g.
	// "max_result_bytes (67108864) reached"; empty when complete.
	TruncatedReason string  `json:"truncated_reason,omitempty"`
	ElapsedMS       float64 `json:"elapsed_ms"`
}

// Querier runs read-only SQL over the catalog's datasets; other modules
// (observer workflows, MCP) use it through the container.
type Querier interface {
	// Query runs one read-only statement with positional params and
	// returns at most limit rows (0 = the configured default cap) and
	// max_result_bytes of encoded answer (each value also counts 16 bytes
	// for its Go form); Result.Truncated says when a cap cut it.
	Query(ctx context.Context, sql string, params []any, limit int) (*Result, error)
}
