package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"net/http"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The parse gate refuses scalar builders whose size is computed or past
// the cap, and lets the table-function forms and small constants through.
func TestListBuildersBounded(t *testing.T) {
	conn := rawConn(t)
	refused := []string{
		"SELECT range(40000000)",
		"SELECT range(0, 50000000)",
		"SELECT generate_series(1, 1e9::BIGINT)",
		"SELECT main.range(40000000)",
		"SELECT system.main.range(40000000)",
		"SELECT x, range(x * 1000000) FROM range(3) t(x)",
		"SELECT repeat('x', 200000000)",
		"SELECT len(repeat('ab', 100000000))",
		"SELECT lpad('', 500000000, 'x')",
		"SELECT list_resize([1], 99999999)",
		"SELECT unnest(range(100000000))",
		"SELECT range(40000000::BIGINT)",
		"SELECT repeat('ab', 3), lpad('7', 500000000, '0')",
		"SELECT range(3), range(50000000)",
		"WITH n AS (SELECT 40000000 AS n) SELECT range(n) FROM n",
		// Widths in formats: fmt builds them outside memory_limit.
		"SELECT printf('%2000000000d', 1) AS x",
		"SELECT PRINTF('%-2000000000s', 'a')",
		"SELECT printf('%0100000000d', 1)",
		"SELECT printf('%1$2000000000d', 1)",
		"SELECT printf('%.2000000000f', 1.0)",
		"SELECT printf('%ld %70000000ld', 1, 2)",
		"SELECT format('{:>2000000000}', 1)",
		"SELECT format('{0:x^2000000000}', 1)",
		"SELECT format('{:.2000000000f}', 1.0)",
		"SELECT format('{{}} {:2000000000}', 1)",
		// Dynamic widths and computed formats cannot be checked.
		"SELECT printf('%*d', 2000000000, 1)",
		"SELECT printf('%.*f', 5, 1.0)",
		"SELECT format('{:{}}', 1, 2000000000)",
		"SELECT format('{:.{}f}', 1.0, 3)",
		"SELECT printf('%' || '2000000000d', 1)",
		"SELECT printf(f, 1) FROM (SELECT '%d' AS f)",
		"SELECT format(f) FROM (SELECT '{}' AS f)",
		// Bits.
		"SELECT length(bitstring('1', 2000000000))",
		"SELECT bitstring(s, 1000000) FROM (SELECT '1' AS s)",
		"SELECT bitstring('1', n) FROM (SELECT 8 AS n)",
		// Per-row builders: a vector of 2048 such values exists at once.
		"SELECT sum(length(repeat(i::VARCHAR, 20000000))) FROM range(300) t(i)",
		"SELECT repeat(i::VARCHAR, 40000) FROM range(10) t(i)",
		"SELECT lpad(i::VARCHAR, 10000, '0') FROM range(10) t(i)",
		"SELECT printf('%100000d', i) FROM range(10) t(i)",
		"SELECT format('{:>100000}', i) FROM range(10) t(i)",
		"SELECT list_resize([i], 100000) FROM range(10) t(i)",
		"SELECT repeat($1, 1000000)",
		// Nested builders and builders behind other expressions.
		"SELECT repeat(repeat('x', 1000000), 2000)",
		"SELECT repeat(upper(repeat('x', 1000000)), 100)",
		"SELECT repeat((SELECT repeat('x', 60000000)), 100)",
		"SELECT lpad('x', 20000000, repeat('y', 60000000))",
		"SELECT repeat([1, 2, 3], 1000000)",
		"SELECT repeat(range(1000), 10000)",
		// The statement as a whole: each call fits, together they do not.
		"SELECT concat(repeat('x', 40000000), repeat('y', 40000000))",
		"SELECT " + strings.Repeat("printf('%4000d', i), ", 9) + "1 FROM range(10) t(i)",
		"SELECT " + strings.Repeat("repeat(", 30) + "'x'" + strings.Repeat(", 2)", 30), // 2^30 bytes, 2 at a time
	}
	for _, q := range refused {
		_, err := checkStatement(context.Background(), conn, q, 1000, nil, nil)
		var lb *ListBombError
		if !errors.As(err, &lb) {
			t.Errorf("%s: %v, want a ListBombError", q, err)
		} else if testing.Verbose() {
			t.Logf("%s: %v", q, err)
		}
	}
	allowed := []string{
		"SELECT * FROM range(40000000)",
		"SELECT count(*) FROM range(100000000) t(x)",
		"SELECT * FROM generate_series(1, 1000000000) LIMIT 3",
		"SELECT range(10)",
		"SELECT range(0, 100, 7), generate_series(1, 5)",
		"SELECT unnest(range(1000))",
		"SELECT repeat('ab', 3), lpad('7', 5, '0')",
		"SELECT 'range(40000000)' AS text",
		"SELECT 1 AS range",
		"SELECT repeat('x', 60000000)",
		"SELECT repeat('-', 80) FROM range(3000)",
		"SELECT lpad(i::VARCHAR, 10, '0'), rpad(i::VARCHAR, 30, ' ') FROM range(10) t(i)",
		"SELECT repeat(i::VARCHAR, 3), list_resize([i], 10) FROM range(10) t(i)",
		"SELECT printf('%05.2f', i * 1.5), printf('%-10s|%3d%%', 'a', i) FROM range(10) t(i)",
		"SELECT printf('2000000000 items: %d', 2000000000), printf('%%2000000000d')",
		"SELECT printf('%2$s %1$s', 'a', 'b'), printf('%lld', 5)",
		"SELECT format('{} {}', i, i + 1), format('{:>10}', i), format('{0:.2f}', i / 3) FROM range(3) t(i)",
		"SELECT format('{{2000000000}} {}', 1), format('{1}{0}', 'a', 'b')",
		"SELECT bitstring('1', 64), bitstring(s, 64) FROM (SELECT '1' AS s)",
		"SELECT range(10) FROM range(3000)",
		"SELECT repeat(repeat('ab', 10), 10)",
		"SELECT repeat(4000000::VARCHAR, 2)",
		"SELECT lpad(repeat('x', 1000), 1000000, repeat('y', 1000000))", // lpad builds n characters, whatever the fill
		"SELECT " + strings.Repeat("repeat(", 100) + "'x'" + strings.Repeat(", 1)", 100),
	}
	for _, q := range allowed {
		st, err := checkStatement(context.Background(), conn, q, 1000, nil, nil)
		if err != nil {
			t.Errorf("%s: refused: %v", q, err)
			continue
		}
		_ = st.Close()
	}
}

// rawConn is a bare DuckDB connection for the parse gate.
func rawConn(t *testing.T) *duckdb.Conn {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	dc, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dc.Close() })
	conn, ok := dc.(*duckdb.Conn)
	if !ok {
		t.Fatalf("unexpected driver conn %T", dc)
	}
	return conn
}

var _ driver.Conn = (*duckdb.Conn)(nil)

// The 29-byte request answers 400 over HTTP (it used to take the
// process down), and the server keeps serving.
func TestRangeBombOverHTTP(t *testing.T) {
	h := newHarness(t, nil)
	for _, q := range []string{`SELECT range(40000000)`, `SELECT repeat('x', 1000000000)`} {
		e := h.fail(sqlBody(q), http.StatusBadRequest)
		if e.Error.Code != "unbounded_value" || !strings.Contains(e.Error.Message, "FROM range(n)") && !strings.Contains(e.Error.Message, "constants") {
			t.Fatalf("%s: %+v", q, e.Error)
		}
	}
	if a := h.ok(sqlBody(`SELECT count(*) FROM range(40000000)`)); a.RowCount != 1 {
		t.Fatal("the streaming form must still work")
	}
}

// Widths and precisions are what a format makes fmt allocate; literal
// digits, argument indexes and escaped braces are not.
func TestFormatWidths(t *testing.T) {
	for _, c := range []struct {
		f       string
		sum     int64
		dynamic bool
	}{
		{"%d", 0, false},
		{"%05.2f", 7, false},
		{"100 items %d", 0, false},
		{"%%2000000000d", 0, false},
		{"%1$10d %2$s", 10, false},
		{"%-20s|%.3s", 23, false},
		{"%lld", 0, false},
		{"%*d", 0, true},
		{"%.*f", 0, true},
		{"%99999999999999999999999d", 1<<63 - 1, false},
	} {
		if sum, dyn := printfWidths(c.f); sum != c.sum || dyn != c.dynamic {
			t.Errorf("printf %q: %d %v, want %d %v", c.f, sum, dyn, c.sum, c.dynamic)
		}
	}
	for _, c := range []struct {
		f       string
		sum     int64
		dynamic bool
	}{
		{"{} {}", 0, false},
		{"{12}", 0, false},
		{"{{2000000000}}", 0, false},
		{"{:>10}", 10, false},
		{"{0:x^10.3f}", 13, false},
		{"{:5>5}", 10, false},
		{"{:{}}", 0, true},
		{"{:.{}f}", 0, true},
		{"2000000000 {}", 0, false},
	} {
		if sum, dyn := fmtWidths(c.f); sum != c.sum || dyn != c.dynamic {
			t.Errorf("format %q: %d %v, want %d %v", c.f, sum, dyn, c.sum, c.dynamic)
		}
	}
}

// Format widths and per-row builders answer 400 over HTTP, naming the
// function and the cap. The sizes are past the caps but small enough
// (100 MB, 12 MB) that a regression costs the test little: the lead's
// 2 GB printf and 18 GB per-row repeat are these with larger numbers.
func TestSizedValuesOverHTTP(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		sql, function string
		limit         float64
	}{
		{`SELECT printf('%100000000d', 1) AS x`, "printf", maxBuiltStringBytes},
		{`SELECT sum(length(repeat(i::VARCHAR, 40000))) FROM range(300) t(i)`, "repeat", maxRowStringBytes},
	} {
		e := h.fail(sqlBody(c.sql), http.StatusBadRequest)
		if e.Error.Code != "unbounded_value" || e.Error.Details["function"] != c.function || e.Error.Details["limit"] != c.limit ||
			!strings.Contains(e.Error.Message, c.function+"()") {
			t.Fatalf("%s: %+v", c.sql, e.Error)
		}
	}
	if a := h.ok(sqlBody(`SELECT printf('%05.2f', i * 1.5) AS p, lpad(i::VARCHAR, 10, '0') AS l FROM range(3) t(i)`)); a.RowCount != 3 {
		t.Fatal("small formats and paddings must still work")
	}
}
