package query

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrForbidden marks statements the lock-down refuses (403).
var ErrForbidden = errors.New("statement not allowed")

// ErrMultipleStatements is returned when a request holds more than one
// statement (400).
var ErrMultipleStatements = errors.New("only one statement per request")

var typeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE",
	duckdb.STATEMENT_TYPE_DELETE: "DELETE", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE",
	duckdb.STATEMENT_TYPE_ALTER: "ALTER", duckdb.STATEMENT_TYPE_TRANSACTION: "TRANSACTION",
	duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION",
	duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT",
	duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM",
	duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET",
	duckdb.STATEMENT_TYPE_LOAD: "LOAD/INSTALL", duckdb.STATEMENT_TYPE_EXTENSION: "EXTENSION",
	duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH",
	duckdb.STATEMENT_TYPE_MULTI: "MULTI",
}

// checkStatement decides whether sqlText may run, in two gates, and
// returns the base tables it names.
//
// Gate 1 parses without binding or executing: DuckDB's json_serialize_sql
// serializes only SELECT statements (DESCRIBE, SHOW, SUMMARIZE, FROM-first,
// VALUES and TABLE are SELECTs to DuckDB's parser) and reports how many
// statements the text holds. This must come first because preparing is
// not side-effect free for every statement: EXPORT DATABASE creates its
// directory and IMPORT DATABASE reads files while being prepared.
//
// Gate 2 prepares the one statement (the driver's Prepare refuses
// multi-statement text before running any of it) and checks DuckDB's own
// statement type. An EXPLAIN passes only when the statement it explains
// passes both gates, because EXPLAIN ANALYZE executes its statement.
//
// Between the gates, beforePrepare gets the base tables the statement
// names (so their views can be built and their parts fetched before
// DuckDB binds them). The statement prepared by gate 2 is returned for
// execution (the caller closes it), so the query is bound once; it is nil
// for an EXPLAIN.
//
// maxSelects (0 = no cap) bounds the statement's SELECT blocks before
// DuckDB binds and plans it: planning time grows faster than linearly
// with them and is not reliably interrupted by the timeout.
//
// restrict, when set, is the caller's dataset grants (grants.go): it sees
// the statement's table references, CTE names and function names, and
// refuses what reaches beyond them.
func checkStatement(ctx context.Context, conn *duckdb.Conn, sqlText string, maxSelects int, beforePrepare func([]string) error, restrict func(serialized) error) (*duckdb.Stmt, error) {
	return checkDepth(ctx, conn, sqlText, maxSelects, beforePrepare, restrict, 0)
}

func checkDepth(ctx context.Context, conn *duckdb.Conn, sqlText string, maxSelects int, beforePrepare func([]string) error, restrict func(serialized) error, depth int) (*duckdb.Stmt, error) {
	if depth > 4 {
		return nil, fmt.Errorf("%w: nested EXPLAIN", ErrForbidden)
	}
	tree, err := parseTree(ctx, conn, sqlText, beforePrepare != nil || restrict != nil)
	if err != nil {
		return nil, err
	}
	if tree.Error {
		if tree.ErrorType == "not implemented" { // "Only SELECT statements can be serialized"
			if inner, ok := explainInner(sqlText); ok {
				st, err := checkDepth(ctx, conn, inner, maxSelects, beforePrepare, restrict, depth+1)
				if st != nil {
					_ = st.Close()
				}
				return nil, err
			}
			return nil, fmt.Errorf("%w: only SELECT, WITH, EXPLAIN, DESCRIBE, SHOW and SUMMARIZE run (no COPY, ATTACH, INSTALL/LOAD, SET/PRAGMA, CREATE, INSERT, EXPORT, ...)", ErrForbidden)
		}
		pos, _ := strconv.Atoi(tree.Position)
		return nil, &ParseError{Msg: tree.ErrorMessage, Offset: pos, HasOffset: tree.Position != ""}
	}
	switch tree.Statements {
	case 0:
		return nil, ErrEmptySQL
	case 1:
	default:
		return nil, ErrMultipleStatements
	}
	if maxSelects > 0 && tree.Selects > maxSelects {
		return nil, &TooComplexError{Selects: tree.Selects, Max: maxSelects}
	}
	if err := checkBuilders(tree.BuilderTree, tree.BuilderCalls); err != nil {
		return nil, err
	}
	if len(tree.Denied) > 0 {
		return nil, fmt.Errorf("%w: %s() reads the server's own configuration, which SQL may not", ErrForbidden, tree.Denied[0])
	}
	if restrict != nil {
		if err := restrict(tree); err != nil {
			return nil, err
		}
	}
	if beforePrepare != nil {
		if err := beforePrepare(tree.Tables); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := conn.PrepareContext(ctx, sqlText)
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return nil, ErrMultipleStatements
		}
		return nil, err
	}
	ds, ok := st.(*duckdb.Stmt)
	if !ok {
		_ = st.Close()
		return nil, errors.New("query: unexpected driver statement type")
	}
	typ, err := ds.StatementType()
	if err == nil && typ != duckdb.STATEMENT_TYPE_SELECT {
		name := typeNames[typ]
		if name == "" {
			name = fmt.Sprintf("type %d", typ)
		}
		err = fmt.Errorf("%w: %s statements are refused; only SELECT, WITH, EXPLAIN, DESCRIBE, SHOW and SUMMARIZE run", ErrForbidden, name)
	}
	if err != nil {
		_ = ds.Close()
		return nil, err
	}
	return ds, nil
}

// ParseError is a syntax error with its byte offset in the SQL.
type ParseError struct {
	Msg       string
	Offset    int
	HasOffset bool
}

// Error implements error.
func (e *ParseError) Error() string { return "syntax error: " + e.Msg }

// TooComplexError refuses a statement with more SELECT blocks than
// max_select_blocks (400).
type TooComplexError struct{ Selects, Max int }

// Error implements error.
func (e *TooComplexError) Error() string {
	return fmt.Sprintf("the statement has %d SELECT blocks (UNION branches, subqueries, CTEs); at most %d are accepted (query.max_select_blocks)", e.Selects, e.Max)
}

// serialized is what the gates need of json_serialize_sql's answer: the
// parse error, if any, the number of statements, the SELECT blocks of
// the statement and the base tables it names. The tree itself (about 100
// bytes per byte of SQL for long UNIONs or IN lists) is not kept.
type serialized struct {
	Error        bool
	ErrorType    string
	ErrorMessage string
	Position     string
	Statements   int
	Selects      int        // SELECT_NODEs in all statements
	Tables       []string   // base tables (views included)
	Refs         []tableRef // the same with their schema (only withTables)
	CTEs         []string   // names the statement defines in WITH (only withTables)
	Funcs        []string   // function names called, lower case (only withTables)
	Shows        []string   // SHOW/DESCRIBE/SUMMARIZE kinds (only withTables)
	BuilderTree  string     // the tree from the first size-taking call on, "" when none (see listbomb.go)
	BuilderCalls int        // size-taking calls found (at most maxBuilderCalls+1)
	Denied       []string   // configFunctions the statement calls
}

// parsed caches parse results by SQL text: parsing depends on the text
// alone, and a repeated query (dashboards, the UI) then skips a DuckDB
// round trip. Bounded; an arbitrary entry goes when full.
var parsed = struct {
	sync.Mutex
	m map[string]serialized
}{m: map[string]serialized{}}

const (
	parseCacheEntries = 1024
	parseCacheMaxText = 16 << 10
)

// parseTree parses sqlText; the base tables are listed only withTables
// (the lazy S3 views need them; local views all exist already).
func parseTree(ctx context.Context, conn *duckdb.Conn, sqlText string, withTables bool) (serialized, error) {
	key := "-" + sqlText
	if withTables {
		key = "+" + sqlText
	}
	parsed.Lock()
	out, ok := parsed.m[key]
	parsed.Unlock()
	if ok {
		return out, nil
	}
	out, err := parseTreeUncached(ctx, conn, sqlText, withTables)
	if err != nil || len(sqlText) > parseCacheMaxText {
		return out, err
	}
	parsed.Lock()
	if len(parsed.m) >= parseCacheEntries {
		for k := range parsed.m {
			delete(parsed.m, k)
			break
		}
	}
	parsed.m[key] = out
	parsed.Unlock()
	return out, nil
}

// parseSQL asks DuckDB for what serialized holds, so the tree itself
// (about 80 bytes per byte of SQL for long IN lists or UNIONs: 20 MB for
// 256 KiB) never leaves DuckDB, and the work stays under the query's
// context. The serializer's output is compact JSON with fixed field
// order: a BASE_TABLE ref's "type" precedes its "table_name", and a quote
// inside a string value is always escaped, so neither pattern can match
// inside a SQL literal. When the statement calls a size-taking function,
// the tree from its first call on comes to Go, so that each call is seen
// whole with its arguments, however nested (at most the tree's size, a
// few MB for the longest accepted SQL).
const parseSQL = `SELECT
	e,
	CASE WHEN e THEN coalesce(t->>'$.error_type', '') ELSE '' END,
	CASE WHEN e THEN coalesce(t->>'$.error_message', '') ELSE '' END,
	CASE WHEN e THEN coalesce(t->>'$.position', '') ELSE '' END,
	CASE WHEN e THEN 0 ELSE coalesce(json_array_length(t, '$.statements'), 0) END,
	(strlen(t) - strlen(replace(t, '"type":"SELECT_NODE"', ''))) // strlen('"type":"SELECT_NODE"'),
	CASE WHEN $2 THEN regexp_extract_all(t, '"type":"BASE_TABLE",.*?"schema_name":"(?:[^"\\]|\\.)*","table_name":"(?:[^"\\]|\\.)*"') END,
	CASE WHEN e OR len(hs) = 0 THEN '' ELSE substr(t, strpos(t, hs[1])) END,
	least(len(hs), 1001),
	CASE WHEN e THEN [] ELSE list_distinct(list_filter(regexp_extract_all(t, '"(?:function|table)_name":"([^"\\]*)"', 1), f -> list_contains($4, lower(f)))) END,
	CASE WHEN $2 AND NOT e THEN regexp_extract_all(t, '"key":("(?:[^"\\]|\\.)*"),"value":\{"aliases"', 1) END,
	CASE WHEN $2 AND NOT e THEN list_distinct(list_transform(regexp_extract_all(t, '"function_name":"((?:[^"\\]|\\.)*)"', 1), f -> lower(f))) END,
	CASE WHEN $2 AND NOT e THEN regexp_extract_all(t, '"show_type":"([A-Z_]+)"', 1) END
FROM (SELECT t, e,
		CASE WHEN e THEN [] ELSE regexp_extract_all(t, $3) END AS hs
	FROM (SELECT t, starts_with(t, '{"error":true') AS e
		FROM (SELECT json_serialize_sql($1::VARCHAR)::VARCHAR AS t)))`

func parseTreeUncached(ctx context.Context, conn *duckdb.Conn, sqlText string, withTables bool) (serialized, error) {
	var out serialized
	rows, err := conn.QueryContext(ctx, parseSQL, []driver.NamedValue{{Ordinal: 1, Value: sqlText}, {Ordinal: 2, Value: withTables},
		{Ordinal: 3, Value: builderHeaderPattern}, {Ordinal: 4, Value: configFunctions}})
	if err != nil {
		return out, fmt.Errorf("query: parse: %w", err)
	}
	defer rows.Close()
	vals := make([]driver.Value, 13)
	if err := rows.Next(vals); err != nil {
		return out, fmt.Errorf("query: parse: %w", err)
	}
	out.Error, _ = vals[0].(bool)
	out.ErrorType, _ = vals[1].(string)
	out.ErrorMessage, _ = vals[2].(string)
	out.Position, _ = vals[3].(string)
	out.Statements = int(toInt64(vals[4]))
	out.Selects = int(toInt64(vals[5]))
	refs, _ := vals[6].([]any)
	for _, r := range refs {
		match, _ := r.(string)
		ref, err := parseTableRef(match)
		if err != nil {
			return out, err
		}
		out.Refs = append(out.Refs, ref)
		out.Tables = append(out.Tables, ref.Name)
	}
	for _, c := range anyStrings(vals[10]) {
		var name string
		if err := json.Unmarshal([]byte(c), &name); err == nil {
			out.CTEs = append(out.CTEs, name)
		}
	}
	out.Funcs = anyStrings(vals[11])
	out.Shows = anyStrings(vals[12])
	out.BuilderTree, _ = vals[7].(string)
	out.BuilderCalls = int(toInt64(vals[8]))
	denied, _ := vals[9].([]any)
	for _, d := range denied {
		if name, ok := d.(string); ok {
			out.Denied = append(out.Denied, name)
		}
	}
	return out, nil
}

// configFunctions are the functions that read the server's own settings
// and files: the data and temp directories' absolute paths, the attached
// databases' files, extensions' install paths, secrets. Results are not
// scrubbed (errors are), so a statement calling one is refused instead.
var configFunctions = []string{
	"current_setting", "duckdb_settings", "duckdb_databases", "duckdb_temporary_files", "duckdb_extensions",
	"duckdb_secrets", "which_secret", "duckdb_variables", "getvariable", "duckdb_logs", "duckdb_log_contexts",
	"pragma_database_list", "pragma_database_size", "pragma_metadata_info", "pragma_user_agent",
	"getenv", "duckdb_secret_types", "pg_settings",
}

// tableRef is one base table a statement names.
type tableRef struct{ Schema, Name string }

var tableRefRe = regexp.MustCompile(`"schema_name":("(?:[^"\\]|\\.)*"),"table_name":("(?:[^"\\]|\\.)*")$`)

// parseTableRef reads the schema and name out of one BASE_TABLE match of
// the serialized tree (the match ends with them).
func parseTableRef(match string) (tableRef, error) {
	m := tableRefRe.FindStringSubmatch(match)
	if m == nil {
		return tableRef{}, fmt.Errorf("query: parse tree: unexpected table reference %.80s", match)
	}
	var ref tableRef
	if err := json.Unmarshal([]byte(m[1]), &ref.Schema); err != nil {
		return tableRef{}, fmt.Errorf("query: parse tree: schema name %s: %w", m[1], err)
	}
	if err := json.Unmarshal([]byte(m[2]), &ref.Name); err != nil {
		return tableRef{}, fmt.Errorf("query: parse tree: table name %s: %w", m[2], err)
	}
	return ref, nil
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

// explainInner returns the statement an EXPLAIN explains. DuckDB has
// already classified the text as EXPLAIN; this only skips the prefix
// "EXPLAIN [ANALYZE|ANALYSE] [(options)]". It fails closed: comments or
// quotes inside the prefix make it refuse rather than guess.
func explainInner(s string) (string, bool) {
	rest := strings.TrimLeft(s, " \t\r\n")
	word := func() string {
		i := 0
		for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] == '_') {
			i++
		}
		return rest[:i]
	}
	w := word()
	if !strings.EqualFold(w, "EXPLAIN") {
		return "", false
	}
	rest = strings.TrimLeft(rest[len(w):], " \t\r\n")
	if w = word(); strings.EqualFold(w, "ANALYZE") || strings.EqualFold(w, "ANALYSE") {
		rest = strings.TrimLeft(rest[len(w):], " \t\r\n")
	}
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 || strings.ContainsAny(rest[1:end], "'\"(-/;") {
			return "", false
		}
		rest = strings.TrimLeft(rest[end+1:], " \t\r\n")
	}
	if rest == "" || strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "/*") {
		return "", false
	}
	return rest, true
}
