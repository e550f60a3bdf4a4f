package query

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrForbidden marks statements the lock-down refuses (403).
var ErrForbidden = errors.New("statement not allowed")

// ErrMultipleStatements is returned when a request holds more than one
// statement (400).
var ErrMultipleStatements = errors.New("only one statement per request")

// allowedTypes are the statement kinds user SQL may run, as DuckDB's own
// parser classifies them. DESCRIBE, SHOW, SUMMARIZE, FROM-first, VALUES,
// TABLE and PRAGMAs that only read (table_info, show_tables) are all
// SELECT to DuckDB; EXPLAIN is checked further (its inner statement).
var allowedTypes = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_SELECT:  "SELECT",
	duckdb.STATEMENT_TYPE_EXPLAIN: "EXPLAIN",
}

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

// checkStatement prepares sqlText on conn (preparing never executes: the
// driver's Prepare refuses multi-statement text before running any of
// it) and allows it only when DuckDB classifies it as a read. An EXPLAIN
// is allowed only when the statement it explains is itself a read,
// because EXPLAIN ANALYZE executes its statement.
func checkStatement(conn driver.Conn, sqlText string) error {
	return checkDepth(conn, sqlText, 0)
}

func checkDepth(conn driver.Conn, sqlText string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%w: nested EXPLAIN", ErrForbidden)
	}
	st, err := conn.Prepare(sqlText)
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return fmt.Errorf("%w (PIVOT without an IN list also expands to several statements)", ErrMultipleStatements)
		}
		return err
	}
	ds, ok := st.(*duckdb.Stmt)
	if !ok {
		_ = st.Close()
		return errors.New("query: unexpected driver statement type")
	}
	typ, err := ds.StatementType()
	_ = st.Close()
	if err != nil {
		return fmt.Errorf("query: statement type: %w", err)
	}
	if _, ok := allowedTypes[typ]; !ok {
		name := typeNames[typ]
		if name == "" {
			name = fmt.Sprintf("type %d", typ)
		}
		return fmt.Errorf("%w: %s statements are refused; only SELECT, WITH, EXPLAIN, DESCRIBE, SHOW and SUMMARIZE run", ErrForbidden, name)
	}
	if typ == duckdb.STATEMENT_TYPE_EXPLAIN {
		inner, ok := explainInner(sqlText)
		if !ok {
			return fmt.Errorf("%w: EXPLAIN must be followed directly by its statement (optionally ANALYZE or an option list)", ErrForbidden)
		}
		return checkDepth(conn, inner, depth+1)
	}
	return nil
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
