package query

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// postFull sends a body to /v1/sql and returns the response (body read,
// so trailers are set) and the body.
func (h *harness) postFull(body string) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.url+"/v1/sql", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, data
}

type cappedAnswer struct {
	jsonAnswer
	TruncatedReason string `json:"truncated_reason"`
}

// A json answer is capped in encoded bytes, not only rows: a 29-byte
// query whose one value is a list of millions of numbers, or one huge
// string, answers a bounded body that says it was truncated and why.
func TestJSONAnswerCappedInBytes(t *testing.T) {
	const capBytes = 1 << 20
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MaxResultBytes = capBytes })
	for _, q := range []string{
		`SELECT range(2000000)`,                          // one ~15 MB list value
		`SELECT repeat('x', 20000000)`,                   // one 20 MB string
		`SELECT repeat('x', 1000) AS s FROM range(5000)`, // many rows, 5 MB in all
		`SELECT [repeat('y', 100000)] || range(10)::VARCHAR[] AS l FROM range(50)`,
	} {
		resp, data := h.postFull(sqlBody(q))
		var a cappedAnswer
		if err := json.Unmarshal(data, &a); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %.200s", q, resp.StatusCode, data)
		}
		if len(data) > capBytes+4096 {
			t.Errorf("%s: body %d bytes, cap %d", q, len(data), capBytes)
		}
		want := fmt.Sprintf("max_result_bytes (%d) reached", capBytes)
		if !a.Truncated || a.TruncatedReason != want || a.RowCount != len(a.Rows) {
			t.Errorf("%s: truncated=%v reason=%q rows=%d/%d", q, a.Truncated, a.TruncatedReason, a.RowCount, len(a.Rows))
		}
	}
	// Whole rows only, as many as fit.
	a := h.ok(sqlBody(`SELECT repeat('x', 1000) AS s FROM range(5000)`))
	if a.RowCount < 900 || a.RowCount > 1100 || len(a.Rows[a.RowCount-1][0].(string)) != 1000 {
		t.Fatalf("rows that fit: %d", a.RowCount)
	}
	// The row cap says so too; a complete answer has no reason.
	var c cappedAnswer
	_, data := h.postFull(sqlBody(`SELECT * FROM range(20000)`))
	must(t, json.Unmarshal(data, &c))
	if !c.Truncated || c.TruncatedReason != "max_rows (10000) reached" || c.RowCount != 10000 {
		t.Fatalf("max_rows: %+v %q", c.RowCount, c.TruncatedReason)
	}
	_, data = h.postFull(sqlBody(`SELECT * FROM range(20000)`, "limit", 5))
	must(t, json.Unmarshal(data, &c))
	if c.TruncatedReason != "limit (5) reached" {
		t.Fatalf("limit: %q", c.TruncatedReason)
	}
	_, data = h.postFull(sqlBody(`SELECT 1 AS one`))
	if bytes.Contains(data, []byte("truncated_reason")) || !bytes.Contains(data, []byte(`"truncated":false`)) {
		t.Fatalf("complete answer: %s", data)
	}

	// The Querier (workflows, MCP) has the same caps.
	res, err := h.mod.svc.Query(context.Background(), `SELECT range(2000000)`, nil, 0)
	must(t, err)
	if !res.Truncated || res.RowCount != 0 || !strings.HasPrefix(res.TruncatedReason, "max_result_bytes") {
		t.Fatalf("querier: %+v", res)
	}
	// And the server is still there.
	if a := h.ok(sqlBody(`SELECT 42`)); a.Rows[0][0] != float64(42) {
		t.Fatal(a.Rows)
	}
}

// Streams are capped by max_stream_bytes: whole rows up to the cap, then
// the X-Lakehouse-Truncated trailer (and for ndjson a final line).
func TestStreamsCappedInBytes(t *testing.T) {
	const capBytes = 1 << 20
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MaxStreamBytes = capBytes })
	want := fmt.Sprintf("max_stream_bytes (%d) reached", capBytes)
	q := `SELECT range AS n, repeat('x', 1000) AS s FROM range(20000)`

	resp, data := h.postFull(sqlBody(q, "format", "ndjson"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var last map[string]any
	must(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
	if resp.StatusCode != 200 || len(data) > capBytes+200 || last["truncated"] != true || last["truncated_reason"] != want ||
		resp.Trailer.Get(TruncatedTrailer) != want || len(lines) < 900 {
		t.Fatalf("ndjson: %d, %d bytes, %d lines, last %v, trailer %q", resp.StatusCode, len(data), len(lines), last, resp.Trailer.Get(TruncatedTrailer))
	}

	resp, data = h.postFull(sqlBody(q, "format", "csv"))
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	must(t, err)
	if len(data) > capBytes || resp.Trailer.Get(TruncatedTrailer) != want || len(recs) < 900 || len(recs[len(recs)-1][1]) != 1000 {
		t.Fatalf("csv: %d bytes, %d records, trailer %q", len(data), len(recs), resp.Trailer.Get(TruncatedTrailer))
	}

	// One value past the cap: no rows, still a valid stream.
	resp, data = h.postFull(sqlBody(`SELECT range(2000000) AS l`, "format", "ndjson"))
	if resp.Trailer.Get(TruncatedTrailer) != want || len(data) > 200 {
		t.Fatalf("ndjson huge value: %d bytes %q", len(data), resp.Trailer.Get(TruncatedTrailer))
	}

	resp, data = h.postFull(sqlBody(q, "format", "arrow"))
	rd, err := ipc.NewReader(bytes.NewReader(data))
	must(t, err)
	var rows int64
	for rd.Next() {
		rows += rd.RecordBatch().NumRows()
	}
	must(t, rd.Err())
	// Arrow is cut inside a batch by its average row size, so it may
	// pass the cap by a little when rows differ in size (not here).
	if len(data) > capBytes+capBytes/20 || resp.Trailer.Get(TruncatedTrailer) != want || rows < 900 || rows == 20000 {
		t.Fatalf("arrow: %d bytes, %d rows, trailer %q", len(data), rows, resp.Trailer.Get(TruncatedTrailer))
	}

	// Under the cap: no trailer value.
	resp, _ = h.postFull(sqlBody(`SELECT 1 AS one`, "format", "ndjson"))
	if resp.Trailer.Get(TruncatedTrailer) != "" {
		t.Fatalf("complete stream has trailer %q", resp.Trailer.Get(TruncatedTrailer))
	}
}

// A stream that fails after its first byte (here its timeout passes
// while the client is slow to read) says so in the X-Lakehouse-Error
// trailer, whatever the format; arrow also lacks its end-of-stream
// marker, so no reader takes the stream for complete.
func TestStreamFailureSetsErrorTrailer(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Query.Timeout = config.Duration(1500 * time.Millisecond)
		c.Query.MaxTimeout = config.Duration(1500 * time.Millisecond)
	})
	// ~30 MiB in every format (hex does not compress), more than the
	// loopback socket buffers hold, so the server blocks on the slow client.
	q := "SELECT i, md5(i::VARCHAR) AS a, md5((i + 1)::VARCHAR) AS b FROM range(400000) t(i)"
	const want = "timeout: query exceeded its timeout and was interrupted"
	for _, format := range []string{"csv", "ndjson", "arrow"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			resp, err := http.Post(h.url+"/v1/sql", "application/json", strings.NewReader(sqlBody(q, "format", format)))
			must(t, err)
			defer resp.Body.Close()
			first := make([]byte, 1)
			_, err = io.ReadFull(resp.Body, first)
			must(t, err)
			time.Sleep(2 * time.Second) // past the query's timeout
			data, err := io.ReadAll(resp.Body)
			must(t, err)
			if resp.StatusCode != 200 || resp.Trailer.Get(ErrorTrailer) != want {
				t.Fatalf("%d, trailer %q after %d bytes", resp.StatusCode, resp.Trailer.Get(ErrorTrailer), len(data))
			}
			eos := []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
			if format == "arrow" && bytes.HasSuffix(data, eos) {
				t.Fatal("a failed arrow stream ends with the end-of-stream marker")
			}
		})
	}
}

// SQL text is capped (413 naming the limit) and so are SELECT blocks,
// which DuckDB plans in super-linear time that the timeout cannot always
// interrupt (6 000 UNION ALL branches with timeout_ms 500 took 3 s).
func TestSQLSizeAndComplexityCapped(t *testing.T) {
	h := newHarness(t, nil)
	big := "SELECT 1" + strings.Repeat(" UNION ALL SELECT 1", 300<<10/18)
	status, _, data := h.post(sqlBody(big))
	var e errAnswer
	must(t, json.Unmarshal(data, &e))
	if status != http.StatusRequestEntityTooLarge || e.Error.Code != "sql_too_large" || !strings.Contains(e.Error.Message, "262144") ||
		!strings.Contains(e.Error.Message, "max_sql_bytes") {
		t.Fatalf("big sql: %d %s", status, data)
	}
	unions := "SELECT 1" + strings.Repeat(" UNION ALL SELECT 1", 6000) // 110 KiB, under the size cap
	e = h.fail(sqlBody(unions), 400)
	if e.Error.Code != "sql_too_complex" || !strings.Contains(e.Error.Message, "6001 SELECT blocks") || !strings.Contains(e.Error.Message, "1000") {
		t.Fatalf("unions: %+v", e.Error)
	}
	// The same caps hold for the Querier.
	_, err := h.mod.svc.Query(context.Background(), big, nil, 0)
	if ae := classify(err, big); ae.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("querier big sql: %v", err)
	}
	// Below the caps nothing changes.
	ok := "SELECT 1 AS x" + strings.Repeat(" UNION ALL SELECT 1", 499)
	if a := h.ok(sqlBody(`SELECT count(*) FROM (` + ok + `)`)); a.Rows[0][0] != float64(500) {
		t.Fatalf("500 branches: %v", a.Rows)
	}
}

func TestParseTree(t *testing.T) {
	eng, err := OpenEngine(context.Background(), Options{Threads: 1})
	must(t, err)
	defer eng.Close()
	for _, c := range []struct {
		sql            string
		stmts, selects int
		tables         string
	}{
		{`SELECT * FROM a JOIN b ON true WHERE x IN (SELECT y FROM c)`, 1, 2, "a,b,c"},
		{`WITH t AS (SELECT 1 AS "type") SELECT 'BASE_TABLE' AS type, * FROM t, "we""ird"`, 1, 2, "t,we\"ird"},
		{`SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3`, 1, 3, ""},
		{`SELECT 1; SELECT 2`, 2, 2, ""},
		{`SELECT {'type': 'BASE_TABLE', 'table_name': 'fake'}`, 1, 1, ""},
	} {
		conn, err := eng.db.Conn(context.Background())
		must(t, err)
		_ = conn.Raw(func(raw any) error {
			tree, err := parseTreeUncached(context.Background(), raw.(*duckdb.Conn), c.sql, true)
			must(t, err)
			if tree.Statements != c.stmts || tree.Selects != c.selects || strings.Join(tree.Tables, ",") != c.tables {
				t.Errorf("%s: %+v", c.sql, tree)
			}
			return nil
		})
		conn.Close()
	}
}

// test_all_types() used to answer 500 (the driver cannot read TIME_NS):
// now a 400 naming the column and type, and everything else renders.
func TestUnreadableTypesAre400(t *testing.T) {
	h := newHarness(t, nil)
	for _, format := range []string{"json", "ndjson", "csv"} {
		e := h.fail(sqlBody(`SELECT * FROM test_all_types()`, "format", format), 400)
		if e.Error.Code != "unsupported_type" || !strings.Contains(e.Error.Message, `"time_ns" (TIME_NS)`) ||
			e.Error.Details["column"] != "time_ns" || e.Error.Details["type"] != "TIME_NS" {
			t.Fatalf("%s: %+v", format, e.Error)
		}
	}
	// Nested inside a list, too.
	if e := h.fail(sqlBody(`SELECT [TIME_NS '12:00:00'] AS l`), 400); e.Error.Details["column"] != "l" {
		t.Fatalf("nested: %+v", e.Error)
	}
	if a := h.ok(sqlBody(`SELECT * EXCLUDE (time_ns) FROM test_all_types()`)); a.RowCount != 3 {
		t.Fatalf("other types: %d rows", a.RowCount)
	}
	for _, format := range []string{"ndjson", "csv"} {
		if status, _, data := h.post(sqlBody(`SELECT * EXCLUDE (time_ns) FROM test_all_types()`, "format", format)); status != 200 {
			t.Fatalf("%s: %d %s", format, status, data)
		}
	}
	if status, _, data := h.post(sqlBody(`SELECT * FROM test_all_types()`, "format", "arrow")); status >= 500 {
		t.Fatalf("arrow: %d %.300s", status, data)
	}
}

// An object-valued param answered 400 with an empty message; every bad
// param is now named with its index and the problem.
func TestBadParamsNamed(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		params []any
		want   string
	}{
		{[]any{map[string]any{"a": 1}}, "params[0]: a JSON object"},
		{[]any{1, []any{2, map[string]any{"b": 1}}}, "params[1]: element 1: a JSON object"},
	} {
		e := h.fail(sqlBody(`SELECT $1 AS a, $2 AS b`, "params", c.params), 400)
		if e.Error.Code != "bad_params" || !strings.HasPrefix(e.Error.Message, c.want) {
			t.Fatalf("%v: %+v", c.params, e.Error)
		}
	}
	// The Querier refuses them the same way, before running anything.
	_, err := h.mod.svc.Query(context.Background(), `SELECT $1`, []any{map[string]any{"a": 1.0}}, 0)
	var ae *kit.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "params[0]") {
		t.Fatalf("querier: %v", err)
	}
	// A list mixing types is named too; numbers with a fraction make a DOUBLE[].
	if e := h.fail(sqlBody(`SELECT $1 AS a`, "params", []any{[]any{1, "x"}}), 400); !strings.HasPrefix(e.Error.Message, "params[0]: ") {
		t.Fatalf("mixed list: %+v", e.Error)
	}
	if a := h.ok(sqlBody(`SELECT list_sum($1) AS a`, "params", []any{[]any{1.5, 2}})); a.Rows[0][0] != 3.5 {
		t.Fatalf("double list: %v", a.Rows)
	}
	// Lists and scalars bind.
	a := h.ok(sqlBody(`SELECT $1 AS a, $2 AS b, $3 AS c`, "params", []any{"x", 2.5, nil}))
	if a.Rows[0][0] != "x" || a.Rows[0][1] != 2.5 || a.Rows[0][2] != nil {
		t.Fatalf("scalars: %v", a.Rows)
	}
}

// DuckDB errors name files by absolute path: a client never sees the data
// dir, and a failure that is not the request's fault is "internal error".
func TestErrorsNeverShowServerPaths(t *testing.T) {
	h := newHarness(t, nil)
	m := addDataset(t, h.cat, h.store, "sales", salesV1)
	dataDir := h.cfg.DataDir
	// A part that vanished from disk: the server's fault.
	p, err := h.store.(interface{ LocalPath(string) (string, error) }).LocalPath(m.Files[0].Key)
	must(t, err)
	must(t, os.Remove(p))
	status, _, data := h.post(sqlBody(`SELECT * FROM sales`))
	if status != 500 || bytes.Contains(data, []byte(dataDir)) || !bytes.Contains(data, []byte("internal error")) {
		t.Fatalf("missing part: %d %s", status, data)
	}
	// A path the user names inside the data dir comes back relative.
	secret := filepath.Join(dataDir, "catalog", "catalog.db")
	status, _, data = h.post(sqlBody(fmt.Sprintf(`SELECT * FROM read_csv(%s)`, quoteString(secret))))
	if status < 400 || status >= 500 || bytes.Contains(data, []byte(dataDir)) {
		t.Fatalf("user path: %d %s", status, data)
	}
	// A missing file the statement names is the user's mistake: a 400
	// that names it, relative to the object root.
	nope := filepath.Join(dataDir, "objects", "datasets", "nope.parquet")
	e := h.fail(sqlBody(fmt.Sprintf(`SELECT * FROM read_parquet(%s)`, quoteString(nope))), 400)
	if strings.Contains(e.Error.Message, dataDir) || !strings.Contains(e.Error.Message, "datasets/nope.parquet") {
		t.Fatalf("user's missing file: %+v", e.Error)
	}
	// Scrubbing keeps what APIError needs to classify.
	s := newScrubber(dataDir)
	wrapped := s.err(fmt.Errorf("ctx: %w", &ParseError{Msg: "near " + filepath.Join(dataDir, "x")}))
	if ae := classify(wrapped, ""); ae.Status != 400 || strings.Contains(ae.Message, dataDir) || !strings.Contains(ae.Message, "near x") {
		t.Fatalf("scrubbed parse error: %+v", ae)
	}
}

func TestDuckMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"40%", "4096MiB", true}, {"2GB", "2GB", true}, {"", "", false}, {"100 %", "10240MiB", true},
	} {
		got, ok, err := duckMemoryLimit(c.in, 10<<30)
		if err != nil || got != c.want || ok != c.ok {
			t.Errorf("%q: %q %v %v", c.in, got, ok, err)
		}
	}
	if _, _, err := duckMemoryLimit("140%", 10<<30); err == nil {
		t.Error("140% accepted")
	}
	if _, ok, _ := duckMemoryLimit("40%", 0); ok {
		t.Error("unknown memory resolved")
	}
	// The default config opens (DuckDB takes no percentages itself), and
	// an out-of-memory query is a 503 that says what to do.
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MemoryLimit = "64MB" })
	e := h.fail(sqlBody(`SELECT len(list(range)) FROM range(30000000)`), http.StatusServiceUnavailable)
	if e.Error.Code != "out_of_memory" || !strings.Contains(e.Error.Message, "memory_limit") {
		t.Fatalf("oom: %+v", e.Error)
	}
	if a := h.ok(sqlBody(`SELECT 1`)); a.RowCount != 1 {
		t.Fatal("after oom")
	}
	def := newHarness(t, nil)
	var got string
	must(t, def.mod.svc.eng.db.QueryRowContext(context.Background(), "SELECT current_setting('memory_limit')").Scan(&got))
	if got == "" {
		t.Fatal("no memory_limit")
	}
}
