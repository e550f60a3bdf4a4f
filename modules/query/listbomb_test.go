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
	}
	for _, q := range refused {
		_, err := checkStatement(context.Background(), conn, q, 1000, nil)
		var lb *ListBombError
		if !errors.As(err, &lb) {
			t.Errorf("%s: %v, want a ListBombError", q, err)
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
	}
	for _, q := range allowed {
		st, err := checkStatement(context.Background(), conn, q, 1000, nil)
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
