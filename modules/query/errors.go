package query

import (
	"context"
	"errors"
	"lakehouse/modules/kit"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Error is an error out of the engine together with the HTTP answer it
// gets: the Service wraps every error it returns in one, so whoever meets
// it (/v1/sql, the indexer, a workflow, the CLI) answers alike through
// app's one renderer. Error() is the cause's text, for logs; errors.Is and
// errors.As reach both the answer and the cause.
type Error struct {
	cause  error
	answer *kit.APIError
}

// Error implements error with the cause's text.
func (e *Error) Error() string { return e.cause.Error() }

// Unwrap exposes the answer (found by the renderer) and the cause.
func (e *Error) Unwrap() []error { return []error{e.answer, e.cause} }

// wrapErr attaches the answer for err as a statement sqlText produced it.
func wrapErr(err error, sqlText string) error {
	var qe *Error
	if err == nil || errors.As(err, &qe) {
		return err
	}
	return &Error{cause: err, answer: classify(err, sqlText)}
}

// classify maps an engine error to the HTTP answer: 400 for bad input
// (empty, unparsable, too complex, unknown table, bad types, bad params),
// 403 for what the lock-down refuses, 504 past the timeout, 503 when
// DuckDB runs out of memory, 500 for failures that are not the user's
// (I/O on our own files, DuckDB internal errors). DuckDB's "LINE n:"
// context becomes line/column. Messages are DuckDB's own (the service
// has scrubbed server paths from them); the route replaces a 500's
// message by "internal error".
func classify(err error, sqlText string) *kit.APIError {
	var ae *kit.APIError
	var pe *ParseError
	var tc *TooComplexError
	var lb *ListBombError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		out := kit.Errorf(http.StatusBadRequest, "syntax_error", "%s", pe.Msg)
		if pe.HasOffset {
			line, col := lineCol(sqlText, pe.Offset)
			out.WithDetails(map[string]any{"line": line, "column": col})
		}
		return out
	case errors.Is(err, ErrEmptySQL):
		return kit.Errorf(http.StatusBadRequest, "empty_sql", "sql is empty: send {\"sql\": \"SELECT ...\"}")
	case errors.As(err, &tc):
		return kit.Errorf(http.StatusBadRequest, "sql_too_complex", "%v", tc).
			WithDetails(map[string]any{"select_blocks": tc.Selects, "limit": tc.Max})
	case errors.As(err, &lb):
		d := map[string]any{"function": lb.Function, "max_elements": maxBuiltListElements}
		if lb.Limit > 0 {
			d["limit"], d["unit"] = lb.Limit, lb.Unit
		}
		return kit.Errorf(http.StatusBadRequest, "unbounded_value", "%v", lb).WithDetails(d)
	case errors.Is(err, ErrMultipleStatements):
		return kit.Errorf(http.StatusBadRequest, "multiple_statements", "%v", err)
	case errors.Is(err, ErrForbidden):
		return kit.Errorf(http.StatusForbidden, "forbidden_statement", "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return kit.Errorf(http.StatusGatewayTimeout, "timeout", "query exceeded its timeout and was interrupted")
	case errors.Is(err, context.Canceled):
		return kit.Errorf(499, "canceled", "query canceled: the client went away")
	}
	var de *duckdb.Error
	isDuck := errors.As(err, &de)
	// The driver's own errors carry no DuckDB type (or "Invalid").
	if !isDuck || de.Type == duckdb.ErrorTypeInvalid {
		if out := driverError(err); out != nil {
			return out
		}
	}
	if !isDuck {
		return kit.Errorf(http.StatusInternalServerError, "query_failed", "%v", err)
	}
	msg := de.Msg
	if strings.TrimSpace(msg) == "" {
		msg = err.Error()
	}
	var out *kit.APIError
	switch de.Type {
	case duckdb.ErrorTypePermission:
		out = kit.Errorf(http.StatusForbidden, "forbidden", "%s", firstLine(msg))
	case duckdb.ErrorTypeInterrupt:
		out = kit.Errorf(http.StatusGatewayTimeout, "timeout", "query exceeded its timeout and was interrupted")
	case duckdb.ErrorTypeOutOfMemory:
		out = kit.Errorf(http.StatusServiceUnavailable, "out_of_memory", "%s (raise [query] memory_limit or narrow the query)", firstLine(msg))
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		out = kit.Errorf(http.StatusBadRequest, "syntax_error", "%s", firstLine(msg))
	case duckdb.ErrorTypeCatalog:
		if m := unknownTableRe.FindStringSubmatch(msg); m != nil {
			out = kit.Errorf(http.StatusBadRequest, "unknown_table", "unknown table %q (datasets are queried by name; older versions as \"name@N\")", m[1]).
				WithDetails(map[string]any{"table": m[1]})
		} else {
			out = kit.Errorf(http.StatusBadRequest, "bad_sql", "%s", firstLine(msg))
		}
	case duckdb.ErrorTypeIO, duckdb.ErrorTypeInternal, duckdb.ErrorTypeFatal, duckdb.ErrorTypeConnection, duckdb.ErrorTypeTransaction:
		out = kit.Errorf(http.StatusInternalServerError, "query_failed", "%s", firstLine(msg))
	default:
		out = kit.Errorf(http.StatusBadRequest, "bad_sql", "%s", firstLine(msg))
	}
	if line, col, ok := errorPosition(msg, sqlText); ok {
		out.WithDetails(map[string]any{"line": line, "column": col})
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

var lineRe = regexp.MustCompile(`(?m)^LINE (\d+): (.*)\n( *)\^`)

// errorPosition turns DuckDB's "LINE n: <snippet>\n    ^" into a 1-based
// line and column of sqlText.
func errorPosition(msg, sqlText string) (int, int, bool) {
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0, false
	}
	line, _ := strconv.Atoi(m[1])
	caret := len(m[3]) - len("LINE "+m[1]+": ")
	snippet := m[2]
	lines := strings.Split(sqlText, "\n")
	if line < 1 || line > len(lines) || caret < 0 {
		return line, 0, line >= 1
	}
	// DuckDB may show a window of a long line, marked with "...".
	trimmed := strings.TrimPrefix(snippet, "...")
	caret -= len(snippet) - len(trimmed)
	trimmed = strings.TrimSuffix(trimmed, "...")
	off := strings.Index(lines[line-1], trimmed)
	if off < 0 {
		off = 0
	}
	return line, off + caret + 1, true
}

// lineCol turns a byte offset into a 1-based line and column (in runes).
func lineCol(s string, off int) (int, int) {
	off = min(max(off, 0), len(s))
	before := s[:off]
	line := strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

var bindIndexRe = regexp.MustCompile(`index: (\d+)`)

// driverError maps the driver's own errors (not DuckDB's) that the
// request caused: params it cannot bind or a wrong param count, and
// values it cannot read. nil for anything else.
func driverError(err error) *kit.APIError {
	msg := strings.TrimSpace(err.Error())
	flat := strings.Join(strings.Fields(msg), " ")
	switch {
	case strings.Contains(msg, "could not bind parameter") || strings.Contains(msg, "bind parameter"):
		out := kit.Errorf(http.StatusBadRequest, "bad_params", "params: %s", flat)
		if m := bindIndexRe.FindStringSubmatch(msg); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i >= 1 {
				out = kit.Errorf(http.StatusBadRequest, "bad_params", "params[%d]: %s", i-1, flat).
					WithDetails(map[string]any{"param": i - 1})
			}
		}
		return out
	case strings.Contains(msg, "argument count"):
		return kit.Errorf(http.StatusBadRequest, "bad_params", "params: %s", flat)
	case strings.Contains(msg, "unsupported data type"):
		return kit.Errorf(http.StatusBadRequest, "unsupported_type",
			"a result column has a type json, ndjson and csv answers cannot render (%s); cast it in the query, e.g. col::VARCHAR", flat)
	}
	return nil
}
