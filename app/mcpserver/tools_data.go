package mcpserver

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Output shapes, for the output schemas (the answers are the API's JSON).

type columnDoc struct {
	Name     string `json:"name" jsonschema:"column name (quote it in SQL when it is not a plain identifier)"`
	Type     string `json:"type" jsonschema:"DuckDB type, e.g. VARCHAR, BIGINT, DOUBLE, DATE"`
	Nullable bool   `json:"nullable,omitempty" jsonschema:"whether the column may hold NULL"`
}

type datasetDoc struct {
	Name              string      `json:"name" jsonschema:"dataset name, also its SQL table name"`
	Version           int         `json:"version" jsonschema:"latest version; older ones are tables named name@N"`
	RowCount          int64       `json:"row_count" jsonschema:"rows in this version"`
	Schema            []columnDoc `json:"schema" jsonschema:"columns in order"`
	SchemaFingerprint string      `json:"schema_fingerprint" jsonschema:"changes when the columns change"`
	UpdatedAt         string      `json:"updated_at" jsonschema:"when this version was registered (RFC 3339)"`
	Source            string      `json:"source,omitempty" jsonschema:"where the data came from"`
}

type listDatasetsDoc struct {
	Datasets []datasetDoc `json:"datasets" jsonschema:"every dataset, by name"`
	Count    int          `json:"count" jsonschema:"number of datasets"`
}

type manifestDoc struct {
	datasetDoc
	DatasetID string           `json:"dataset_id" jsonschema:"stable id of the dataset"`
	CreatedAt string           `json:"created_at" jsonschema:"when the dataset was first registered"`
	Files     []map[string]any `json:"files" jsonschema:"the Parquet parts of this version"`
}

type sqlDoc struct {
	Columns   []columnDoc `json:"columns" jsonschema:"result columns in order"`
	Rows      [][]any     `json:"rows" jsonschema:"result rows, each an array in column order"`
	RowCount  int         `json:"row_count" jsonschema:"rows returned"`
	Truncated bool        `json:"truncated" jsonschema:"true when more rows existed than returned: add WHERE/LIMIT or aggregate"`
	ElapsedMS float64     `json:"elapsed_ms" jsonschema:"query time"`
	// When truncated: how many rows the statement has in all.
	TotalRows         int64  `json:"total_rows,omitempty" jsonschema:"when truncated: the statement's rows in all"`
	TotalRowsMoreThan int64  `json:"total_rows_more_than,omitempty" jsonschema:"when truncated and too many to count: a lower bound of the rows in all"`
	Hint              string `json:"hint,omitempty" jsonschema:"when truncated: how to get the rest"`
}

type facetValueDoc struct {
	Value any   `json:"value" jsonschema:"a value of the column (as text; null for NULL)"`
	Count int64 `json:"count" jsonschema:"rows with this value"`
}

type facetDoc struct {
	Column   string          `json:"column" jsonschema:"column name"`
	Distinct int64           `json:"distinct" jsonschema:"number of distinct values (never more than the column's non-null values)"`
	Approx   bool            `json:"distinct_approximate" jsonschema:"true when distinct is an estimate; false when every value is listed in values"`
	Values   []facetValueDoc `json:"values,omitempty" jsonschema:"each value with its row count, most frequent first (low-cardinality columns only)"`
}

type describeDoc struct {
	Name     string      `json:"name" jsonschema:"dataset name"`
	Table    string      `json:"table" jsonschema:"the SQL table to query for this version"`
	Version  int         `json:"version" jsonschema:"the version described"`
	RowCount int64       `json:"row_count" jsonschema:"rows in this version"`
	Schema   []columnDoc `json:"schema" jsonschema:"columns in order"`
	Sample   sqlDoc      `json:"sample" jsonschema:"the first rows"`
	Facets   []facetDoc  `json:"facets" jsonschema:"per column: approximate distinct count, and value counts when there are few values"`
}

type embedDoc struct {
	Model     string      `json:"model" jsonschema:"embedding model"`
	Dimension int         `json:"dimension" jsonschema:"vector length"`
	Vectors   [][]float32 `json:"vectors" jsonschema:"one vector per text, in order"`
}

// Inputs.

type datasetIn struct {
	Name    string `json:"name" jsonschema:"dataset name, as list_datasets shows it"`
	Version int    `json:"version,omitempty" jsonschema:"a version number (default: the latest)"`
}

type describeIn struct {
	Name       string `json:"name" jsonschema:"dataset name, as list_datasets shows it"`
	Version    int    `json:"version,omitempty" jsonschema:"a version number (default: the latest)"`
	SampleRows int    `json:"sample_rows,omitempty" jsonschema:"how many sample rows (default 5, at most 100)"`
	FacetLimit int    `json:"facet_limit,omitempty" jsonschema:"columns with at most this many distinct values get value counts (default 20, at most 100)"`
}

type sqlIn struct {
	SQL       string `json:"sql" jsonschema:"one read-only DuckDB statement (SELECT, WITH, DESCRIBE, SUMMARIZE); each dataset is a table named after it, older versions \"name@N\" (quoted)"`
	Params    []any  `json:"params,omitempty" jsonschema:"values for $1, $2, ... placeholders in sql"`
	Limit     int    `json:"limit,omitempty" jsonschema:"maximum rows to return (default and upper bound: the MCP row cap)"`
	TimeoutMS int    `json:"timeout_ms,omitempty" jsonschema:"query timeout in milliseconds (default: the server's)"`
}

// listIn is list_datasets' and list_vector_indexes' input.
type listIn struct {
	IncludeInternal bool `json:"include_internal,omitempty" jsonschema:"also list what lakehouse keeps for itself (the audit dataset, the memory's index)"`
}

type embedIn struct {
	Texts []string `json:"texts" jsonschema:"texts to embed, e.g. to pass a vector to search_vectors"`
}

func (h *handler) addDataTools(s *mcp.Server) {
	addTool(s, h, toolSpec{
		name: "list_datasets", title: "List datasets", readOnly: true, idempotent: true,
		description: "List the datasets in the lakehouse catalog: name (its SQL table name), latest version, row count and columns. Start here. Internal datasets (the audit trail) are left out unless include_internal is true.",
		hint:        "use describe_dataset or get_manifest for one dataset",
		output:      schemaFor[listDatasetsDoc](),
	}, func(ctx context.Context, _ *call, in listIn) (map[string]any, error) {
		var list struct {
			Datasets []map[string]any `json:"datasets"`
		}
		if err := h.api.Call(ctx, "GET", "/v1/catalog/list", nil, &list); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(list.Datasets))
		for _, d := range list.Datasets {
			if d["internal"] == true && !in.IncludeInternal {
				continue
			}
			out = append(out, pick(d, "name", "version", "row_count", "schema", "schema_fingerprint", "updated_at", "source", "key", "internal"))
		}
		return map[string]any{"datasets": out, "count": len(out)}, nil
	})

	addTool(s, h, toolSpec{
		name: "get_manifest", title: "Get a dataset manifest", readOnly: true, idempotent: true,
		description: "Get one dataset version's manifest: columns and types, Parquet files, row count, version and timestamps. An unknown name is an error: take names from list_datasets.",
		hint:        "ask for one version",
		output:      schemaFor[manifestDoc](),
	}, func(ctx context.Context, _ *call, in datasetIn) (map[string]any, error) {
		return h.manifest(ctx, in.Name, in.Version)
	})

	addTool(s, h, toolSpec{
		name: "describe_dataset", title: "Describe a dataset", readOnly: true, idempotent: true, reportsProgress: true,
		description: "Describe a dataset for writing SQL against it: columns and types, row count, sample rows, and for each column its approximate distinct count plus value counts when it has few values (useful for filters such as city or status).",
		hint:        "ask for fewer sample_rows or a lower facet_limit",
		output:      schemaFor[describeDoc](),
	}, h.describe)

	addTool(s, h, toolSpec{
		name: "query_sql", title: "Run SQL", readOnly: true, idempotent: true,
		description: "Run one read-only SQL statement (DuckDB dialect) over the datasets. Each dataset is a table named after it; an older version is the table \"name@N\" (quoted). Answers columns and rows (arrays in column order), capped at the MCP row and character caps: aggregate or filter in SQL rather than fetching everything.",
		hint:        "add a WHERE clause or a LIMIT, select fewer columns, or aggregate",
		output:      schemaFor[sqlDoc](),
	}, func(ctx context.Context, _ *call, in sqlIn) (map[string]any, error) {
		if strings.TrimSpace(in.SQL) == "" {
			return nil, fmt.Errorf("sql is required")
		}
		if in.Limit <= 0 || in.Limit > h.opts.MaxRows {
			in.Limit = h.opts.MaxRows
		}
		body := map[string]any{"sql": in.SQL, "limit": in.Limit}
		if len(in.Params) > 0 {
			body["params"] = in.Params
		}
		if in.TimeoutMS > 0 {
			body["timeout_ms"] = in.TimeoutMS
		}
		var out map[string]any
		if err := h.api.Call(ctx, "POST", "/v1/sql", body, &out); err != nil {
			return nil, err
		}
		if out["truncated"] == true {
			total, exact := h.countRows(ctx, in)
			switch {
			case total > 0 && exact:
				out["total_rows"] = total
				out["hint"] = fmt.Sprintf("%d rows in all, %d returned; add a WHERE clause or a LIMIT, or aggregate", total, intOf(out["row_count"]))
			case total > 0:
				out["total_rows_more_than"] = total
				out["hint"] = fmt.Sprintf("more than %d rows in all, %d returned; add a WHERE clause or a LIMIT, or aggregate", total, intOf(out["row_count"]))
			default:
				out["hint"] = fmt.Sprintf("more rows exist than the %d returned; add a WHERE clause or a LIMIT, or aggregate", intOf(out["row_count"]))
			}
		}
		return out, nil
	})

	addTool(s, h, toolSpec{
		name: "embed_text", title: "Embed texts", readOnly: true, idempotent: true,
		description: "Embed texts into vectors with the lakehouse's embedding model (the same one its vector indexes use). Rarely needed: search_vectors takes text directly.",
		hint:        "embed fewer texts per call",
		output:      schemaFor[embedDoc](),
	}, func(ctx context.Context, _ *call, in embedIn) (map[string]any, error) {
		var out map[string]any
		err := h.api.Call(ctx, "POST", "/v1/embed", map[string]any{"texts": in.Texts}, &out)
		return out, err
	})
}

// countCap bounds the count a truncated answer reports: past it the answer
// says "more than".
const countCap = 1_000_000

// countRows counts what a truncated statement would return, up to
// countCap, within a few seconds; 0 when it cannot (a DESCRIBE or SHOW
// cannot be wrapped, or the count took too long). exact is false when
// the cap was reached.
func (h *handler) countRows(ctx context.Context, in sqlIn) (int64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The newlines end a trailing -- comment before the closing parenthesis.
	q := strings.TrimRight(strings.TrimSpace(in.SQL), ";")
	body := map[string]any{"sql": fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM (\n%s\n) AS q LIMIT %d) AS c", q, countCap+1), "limit": 1, "timeout_ms": 5000}
	if len(in.Params) > 0 {
		body["params"] = in.Params
	}
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if err := h.api.Call(ctx, "POST", "/v1/sql", body, &res); err != nil || len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return 0, false
	}
	n := int64(intOf(res.Rows[0][0]))
	if n > countCap {
		return countCap, false
	}
	return n, true
}

// manifest fetches a dataset's manifest, latest or one version.
func (h *handler) manifest(ctx context.Context, name string, version int) (map[string]any, error) {
	if name == "" {
		return nil, fmt.Errorf("name is required")
	}
	path := "/v1/catalog/manifest/" + url.PathEscape(name)
	if version > 0 {
		path += "?version=" + strconv.Itoa(version)
	}
	var out map[string]any
	if err := h.api.Call(ctx, "GET", path, nil, &out); err != nil {
		return nil, err
	}
	delete(out, "object_keys") // the files list says the same
	return out, nil
}

// describe answers describe_dataset: manifest, sample, distinct counts,
// value counts, each step one API call and one progress notification.
func (h *handler) describe(ctx context.Context, c *call, in describeIn) (map[string]any, error) {
	const steps = 4
	sample := clamp(in.SampleRows, h.opts.SampleRows, 100)
	facetLimit := clamp(in.FacetLimit, 20, 100)
	man, err := h.manifest(ctx, in.Name, in.Version)
	if err != nil {
		return nil, err
	}
	c.progress(ctx, 1, steps, "manifest read")
	version := intOf(man["version"])
	table := in.Name
	if in.Version > 0 {
		table = fmt.Sprintf("%s@%d", in.Name, version)
	}
	out := map[string]any{"name": in.Name, "table": table, "version": version,
		"row_count": man["row_count"], "schema": man["schema"]}
	var smp map[string]any
	if err := h.api.Call(ctx, "POST", "/v1/sql", map[string]any{
		"sql": "SELECT * FROM " + quoteIdent(table), "limit": sample}, &smp); err != nil {
		return nil, err
	}
	out["sample"] = pick(smp, "columns", "rows", "row_count", "truncated")
	c.progress(ctx, 2, steps, "sample rows read")

	cols := facetColumns(man["schema"])
	facets := []any{}
	if len(cols) > 0 {
		distinct, err := h.distinctCounts(ctx, table, cols)
		if err != nil {
			return nil, err
		}
		c.progress(ctx, 3, steps, "distinct counts computed")
		var low []string
		for _, col := range cols {
			if distinct[col] <= int64(facetLimit) {
				low = append(low, col)
			}
		}
		values, err := h.facetValues(ctx, table, low, facetLimit)
		if err != nil {
			return nil, err
		}
		for _, col := range cols {
			f := map[string]any{"column": col, "distinct": distinct[col], "distinct_approximate": true}
			if v, ok := values[col]; ok {
				f["values"] = v
				if len(v) < facetLimit {
					// Every value is listed: the count is exact.
					f["distinct"], f["distinct_approximate"] = len(v), false
				}
			}
			facets = append(facets, f)
		}
	}
	out["facets"] = facets
	c.progress(ctx, steps, steps, "done")
	return out, nil
}

// facetColumns lists the columns worth counting values of: text, boolean,
// integer and date columns (not floats, blobs or nested types).
func facetColumns(schema any) []string {
	list, _ := schema.([]any)
	var out []string
	for _, c := range list {
		m, _ := c.(map[string]any)
		name, _ := m["name"].(string)
		typ, _ := m["type"].(string)
		typ = strings.ToUpper(typ)
		if name == "" || strings.ContainsAny(typ, "[(<") || strings.HasPrefix(typ, "STRUCT") || strings.HasPrefix(typ, "MAP") {
			continue
		}
		switch {
		case typ == "VARCHAR", typ == "BOOLEAN", strings.HasSuffix(typ, "INT"), typ == "DATE",
			typ == "BIGINT", typ == "HUGEINT", strings.HasPrefix(typ, "ENUM"):
			out = append(out, name)
		}
	}
	return out
}

// distinctCounts runs one query with approx_count_distinct per column,
// each at most the column's count of non-null values: the estimate
// (HyperLogLog) can pass it for a unique column, and an agent told an id
// column has more distinct values than the table has rows stops trusting
// the rest.
func (h *handler) distinctCounts(ctx context.Context, table string, cols []string) (map[string]int64, error) {
	parts := make([]string, len(cols))
	for i, col := range cols {
		parts[i] = fmt.Sprintf("least(approx_count_distinct(%s), count(%s))", quoteIdent(col), quoteIdent(col))
	}
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if err := h.api.Call(ctx, "POST", "/v1/sql", map[string]any{
		"sql": "SELECT " + strings.Join(parts, ", ") + " FROM " + quoteIdent(table), "limit": 1}, &res); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	if len(res.Rows) == 1 {
		for i, col := range cols {
			if i < len(res.Rows[0]) {
				out[col] = int64(intOf(res.Rows[0][i]))
			}
		}
	}
	return out, nil
}

// facetValues counts the values of the low-cardinality columns in one
// query, the most frequent limit values per column.
func (h *handler) facetValues(ctx context.Context, table string, cols []string, limit int) (map[string][]any, error) {
	out := map[string][]any{}
	if len(cols) == 0 {
		return out, nil
	}
	parts := make([]string, len(cols))
	for i, col := range cols {
		parts[i] = fmt.Sprintf("SELECT %s AS col, CAST(%s AS VARCHAR) AS val, count(*) AS n FROM %s GROUP BY 1, 2",
			quoteLiteral(col), quoteIdent(col), quoteIdent(table))
	}
	sql := "SELECT col, val, n FROM (SELECT *, row_number() OVER (PARTITION BY col ORDER BY n DESC, val) AS rn FROM (" +
		strings.Join(parts, " UNION ALL ") + ")) WHERE rn <= " + strconv.Itoa(limit) + " ORDER BY col, n DESC, val"
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if err := h.api.Call(ctx, "POST", "/v1/sql", map[string]any{"sql": sql, "limit": len(cols) * limit}, &res); err != nil {
		return nil, err
	}
	for _, r := range res.Rows {
		if len(r) != 3 {
			continue
		}
		col, _ := r[0].(string)
		out[col] = append(out[col], map[string]any{"value": r[1], "count": r[2]})
	}
	return out, nil
}

// quoteIdent quotes a SQL identifier for DuckDB.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pick copies the named keys that are present.
func pick(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// intOf reads a JSON number (json.Number, float64 or int).
func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	case interface{ Int64() (int64, error) }:
		n, err := x.Int64()
		if err != nil {
			if f, ferr := strconv.ParseFloat(fmt.Sprint(x), 64); ferr == nil {
				return int(f)
			}
		}
		return int(n)
	}
	return 0
}

// clamp applies a default (v <= 0) and an upper bound.
func clamp(v, def, hi int) int {
	if v <= 0 {
		v = def
	}
	return min(v, hi)
}
