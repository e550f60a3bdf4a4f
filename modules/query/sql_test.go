package query

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/config"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

type jsonAnswer struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	RowCount  int      `json:"row_count"`
	Truncated bool     `json:"truncated"`
	ElapsedMS *float64 `json:"elapsed_ms"`
}

type errAnswer struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func sqlBody(sql string, kv ...any) string {
	m := map[string]any{"sql": sql}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (h *harness) ok(body string) jsonAnswer {
	h.t.Helper()
	status, _, data := h.post(body)
	if status != http.StatusOK {
		h.t.Fatalf("%s: status %d: %s", body, status, data)
	}
	var a jsonAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		h.t.Fatalf("decode %s: %v", data, err)
	}
	return a
}

func (h *harness) fail(body string, want int) errAnswer {
	h.t.Helper()
	status, _, data := h.post(body)
	var e errAnswer
	if err := json.Unmarshal(data, &e); err != nil {
		h.t.Fatalf("%s: status %d, body not JSON: %s", body, status, data)
	}
	if status != want || e.Error.Message == "" || e.Error.Code == "" {
		h.t.Fatalf("%s: status %d (want %d): %s", body, status, want, data)
	}
	return e
}

const salesV1 = `SELECT range AS id, 'city-' || (range % 3) AS city, range * 1.5 AS amount, DATE '2024-01-01' + range::INT AS day FROM range(10)`

func TestSelectJSONShape(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	a := h.ok(sqlBody(`SELECT id, city, amount, day FROM sales WHERE id < 3 ORDER BY id`))
	if a.RowCount != 3 || len(a.Rows) != 3 || a.Truncated || a.ElapsedMS == nil {
		t.Fatalf("answer %+v", a)
	}
	wantCols := []Column{{"id", "BIGINT"}, {"city", "VARCHAR"}, {"amount", "DECIMAL(22,1)"}, {"day", "DATE"}}
	for i, c := range wantCols {
		if a.Columns[i].Name != c.Name {
			t.Fatalf("columns %+v", a.Columns)
		}
	}
	if a.Columns[1].Type != "VARCHAR" || a.Columns[0].Type != "BIGINT" || a.Columns[3].Type != "DATE" {
		t.Fatalf("types %+v", a.Columns)
	}
	if a.Rows[1][0] != float64(1) || a.Rows[1][1] != "city-1" || a.Rows[1][2] != 1.5 || a.Rows[1][3] != "2024-01-02" {
		t.Fatalf("row %v", a.Rows[1])
	}
	// The original's field name "query" is accepted too.
	if a := h.ok(`{"query":"SELECT count(*) AS n FROM sales"}`); a.Rows[0][0] != float64(10) {
		t.Fatalf("count %v", a.Rows)
	}
}

func TestTimeTravelAndNewVersionVisible(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	if a := h.ok(sqlBody(`SELECT count(*) FROM sales`)); a.Rows[0][0] != float64(10) {
		t.Fatalf("v1 count %v", a.Rows)
	}
	// Version 2 has two parts; the very next query sees it. The watcher
	// takes the new manifest from the change (no call back into the
	// catalog per change).
	h.cat.mu.Lock()
	calls := h.cat.versionCalls
	h.cat.mu.Unlock()
	addDataset(t, h.cat, h.store, "sales", `SELECT range AS id FROM range(100)`, `SELECT range + 100 AS id FROM range(5)`)
	if a := h.ok(sqlBody(`SELECT count(*), max(id) FROM sales`)); a.Rows[0][0] != float64(105) || a.Rows[0][1] != float64(104) {
		t.Fatalf("latest %v", a.Rows)
	}
	if a := h.ok(sqlBody(`SELECT count(*) FROM "sales@1"`)); a.Rows[0][0] != float64(10) {
		t.Fatalf("v1 %v", a.Rows)
	}
	if a := h.ok(sqlBody(`SELECT count(*) FROM "sales@2"`)); a.Rows[0][0] != float64(105) {
		t.Fatalf("v2 %v", a.Rows)
	}
	h.fail(sqlBody(`SELECT * FROM "sales@3"`), 400)
	// Tables listing names every view.
	resp, err := http.Get(h.url + "/v1/sql/tables")
	must(t, err)
	var tl struct{ Tables []string }
	must(t, json.NewDecoder(resp.Body).Decode(&tl))
	resp.Body.Close()
	if strings.Join(tl.Tables, ",") != "sales,sales@1,sales@2" {
		t.Fatalf("tables %v", tl.Tables)
	}
	// A version gc pruned loses its view, from the change alone too.
	h.cat.prune("sales", 1)
	h.cat.mu.Lock()
	if h.cat.versionCalls != calls {
		t.Errorf("the watcher asked the catalog for versions %d times", h.cat.versionCalls-calls)
	}
	h.cat.mu.Unlock()
	// A version below the latest the catalog no longer has: 410 naming
	// the versions kept (as with S3's lazily built views).
	if e := h.fail(sqlBody(`SELECT * FROM "sales@1"`), 410); e.Error.Code != "version_expired" || !strings.Contains(e.Error.Message, "versions 2 remain") {
		t.Fatalf("pruned version: %+v", e)
	}
	h.ok(sqlBody(`SELECT * FROM "sales@2"`))
	// Deleting the dataset removes its views.
	must(t, h.cat.Delete(context.Background(), "sales"))
	e := h.fail(sqlBody(`SELECT * FROM sales`), 400)
	if e.Error.Code != "unknown_table" {
		t.Fatalf("after delete: %+v", e)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	for _, c := range []struct{ body, code string }{
		{`{"sql": ""}`, "empty_sql"},
		{`{"sql": "   "}`, "empty_sql"},
		{`{}`, "empty_sql"},
		{`{"sql": "SELECT 1"`, "malformed_json"},
		{`not json`, "malformed_json"},
		{`{"sql": 5}`, "malformed_json"},
		{sqlBody("SELEC 1"), "syntax_error"},
		{sqlBody("SELECT nosuchcol FROM sales"), "bad_sql"},
		{sqlBody("SELECT * FROM nosuch"), "unknown_table"},
		{sqlBody("SELECT 1; SELECT 2"), "multiple_statements"},
		{sqlBody("SELECT 1", "format", "xml"), "bad_request"},
		{sqlBody("SELECT 1", "limit", -1), "bad_request"},
	} {
		e := h.fail(c.body, 400)
		if e.Error.Code != c.code {
			t.Errorf("%s: code %q (%s), want %q", c.body, e.Error.Code, e.Error.Message, c.code)
		}
	}
	e := h.fail(sqlBody("SELECT 1,\n  2 FRM sales"), 400)
	if e.Error.Details["line"] != float64(2) || e.Error.Details["column"] != float64(9) {
		t.Fatalf("position %+v", e.Error)
	}
	e = h.fail(sqlBody("SELECT * FROM nosuch"), 400)
	if e.Error.Details["table"] != "nosuch" || !strings.Contains(e.Error.Message, "nosuch") {
		t.Fatalf("unknown table %+v", e.Error)
	}
}

func TestParamsAndLimit(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MaxRows = 4 })
	addDataset(t, h.cat, h.store, "sales", salesV1)
	a := h.ok(sqlBody(`SELECT id FROM sales WHERE id >= $1 AND city = $2 ORDER BY id`, "params", []any{3, "city-0"}))
	if a.RowCount != 3 || a.Rows[0][0] != float64(3) || a.Rows[2][0] != float64(9) {
		t.Fatalf("params %+v", a)
	}
	a = h.ok(sqlBody(`SELECT id FROM sales WHERE amount > ? ORDER BY id`, "params", []any{12.5}))
	if a.RowCount != 1 || a.Rows[0][0] != float64(9) {
		t.Fatalf("float param %+v", a)
	}
	// The json cap (max_rows = 4 here) truncates and says so.
	if a := h.ok(sqlBody(`SELECT * FROM sales`)); a.RowCount != 4 || !a.Truncated {
		t.Fatalf("cap %+v", a)
	}
	if a := h.ok(sqlBody(`SELECT * FROM sales`, "limit", 2)); a.RowCount != 2 || !a.Truncated {
		t.Fatalf("limit %+v", a)
	}
	if a := h.ok(sqlBody(`SELECT * FROM sales LIMIT 4`)); a.RowCount != 4 || a.Truncated {
		t.Fatalf("exact %+v", a)
	}
	if e := h.fail(sqlBody(`SELECT $1 + $2`, "params", []any{1}), 400); e.Error.Code != "bad_params" {
		t.Fatalf("param count: %+v", e)
	}
}

func TestStreamFormats(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	q := `SELECT id, city, day FROM sales ORDER BY id`

	status, ct, data := h.post(sqlBody(q, "format", "ndjson"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if status != 200 || ct != ContentTypeNDJSON || len(lines) != 10 || lines[2] != `{"id":2,"city":"city-2","day":"2024-01-03"}` {
		t.Fatalf("ndjson %d %s %q", status, ct, data)
	}

	status, ct, data = h.post(sqlBody(q, "format", "csv", "limit", 3))
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	must(t, err)
	if status != 200 || !strings.HasPrefix(ct, "text/csv") || len(recs) != 4 || strings.Join(recs[0], ",") != "id,city,day" ||
		strings.Join(recs[3], ",") != "2,city-2,2024-01-03" {
		t.Fatalf("csv %d %s %v", status, ct, recs)
	}

	status, ct, data = h.post(sqlBody(`SELECT range AS n, range::VARCHAR AS s FROM range(5000)`, "format", "arrow"))
	if status != 200 || ct != ContentTypeArrow {
		t.Fatalf("arrow %d %s %s", status, ct, data)
	}
	rd, err := ipc.NewReader(bytes.NewReader(data))
	must(t, err)
	var rows int64
	var sum int64
	for rd.Next() {
		rec := rd.RecordBatch()
		col := rec.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			sum += col.Value(i)
		}
		rows += rec.NumRows()
	}
	must(t, rd.Err())
	if rows != 5000 || sum != 4999*5000/2 || rd.Schema().Field(1).Name != "s" {
		t.Fatalf("arrow rows %d sum %d schema %v", rows, sum, rd.Schema())
	}
	// Arrow with a limit cuts inside a batch.
	_, _, data = h.post(sqlBody(`SELECT range AS n FROM range(5000)`, "format", "arrow", "limit", 3000))
	rd, err = ipc.NewReader(bytes.NewReader(data))
	must(t, err)
	rows = 0
	for rd.Next() {
		rows += rd.RecordBatch().NumRows()
	}
	if rows != 3000 {
		t.Fatalf("arrow limit rows %d", rows)
	}
	// Errors before the first byte are JSON, whatever the format.
	for _, f := range []string{"ndjson", "csv", "arrow"} {
		h.fail(sqlBody(`SELECT * FROM nosuch`, "format", f), 400)
		h.fail(sqlBody(`COPY sales TO 'x.csv'`, "format", f), 403)
	}
}

func TestTimeoutInterruptsAndServerStaysResponsive(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MaxConcurrent = 2 })
	runaway := `SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3`
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	var e errAnswer
	var status int
	go func() {
		defer wg.Done()
		var data []byte
		status, _, data = h.post(sqlBody(runaway, "timeout_ms", 500))
		_ = json.Unmarshal(data, &e)
	}()
	// /health keeps answering while DuckDB burns both cores.
	for i := 0; i < 10; i++ {
		hs := time.Now()
		resp, err := http.Get(h.url + "/health")
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 || time.Since(hs) > 2*time.Second {
			t.Fatalf("/health %d after %v", resp.StatusCode, time.Since(hs))
		}
		time.Sleep(30 * time.Millisecond)
	}
	wg.Wait()
	if status != http.StatusGatewayTimeout || e.Error.Code != "timeout" {
		t.Fatalf("runaway: %d %+v", status, e)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("runaway cut after %v, want about 0.5s", d)
	}
	// Streams time out the same way.
	status, _, _ = h.post(sqlBody(runaway, "timeout_ms", 300, "format", "arrow"))
	if status != http.StatusGatewayTimeout {
		t.Fatalf("arrow runaway: %d", status)
	}
	// The pool is healthy afterwards.
	if a := h.ok(sqlBody(`SELECT 42`)); a.Rows[0][0] != float64(42) {
		t.Fatalf("after timeout %v", a.Rows)
	}
}

func TestPoolNotPoisoned(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MaxConcurrent = 1 })
	addDataset(t, h.cat, h.store, "sales", salesV1)
	bad := []string{
		`SELECT * FROM nosuch`, `SELEC`, `SET threads = 1`, `BEGIN TRANSACTION`, `SELECT error('boom')`,
		`SELECT CAST('x' AS INT)`, `SELECT 1; SELECT 2`, `PRAGMA enable_profiling`,
	}
	for _, q := range bad {
		status, _, _ := h.post(sqlBody(q))
		if status < 400 || status >= 500 {
			t.Fatalf("%s: status %d", q, status)
		}
		// The single pooled connection still answers normally.
		if a := h.ok(sqlBody(`SELECT count(*) FROM sales`)); a.Rows[0][0] != float64(10) {
			t.Fatalf("after %q: %v", q, a.Rows)
		}
	}
	// Many concurrent queries over a small pool.
	h2 := newHarness(t, nil, func(c *config.Config) { c.Query.MaxConcurrent = 3 })
	addDataset(t, h2.cat, h2.store, "sales", salesV1)
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			q := fmt.Sprintf(`SELECT sum(id) + %d FROM sales`, i)
			if i%4 == 0 {
				q = `SELECT * FROM broken syntax here`
			}
			status, _, data := h2.post(sqlBody(q))
			if i%4 == 0 {
				if status != 400 {
					errs <- fmt.Errorf("bad %d: %d %s", i, status, data)
				}
				return
			}
			var a jsonAnswer
			if status != 200 || json.Unmarshal(data, &a) != nil || a.Rows[0][0] != float64(45+i) {
				errs <- fmt.Errorf("good %d: %d %s", i, status, data)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestQuerierInterface(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	res, err := h.mod.svc.Query(context.Background(), `SELECT city, count(*) AS n FROM sales GROUP BY city ORDER BY city`, nil, 0)
	must(t, err)
	if res.RowCount != 3 || res.Rows[0][0] != "city-0" || res.Rows[0][1] != int64(4) {
		t.Fatalf("querier %+v", res)
	}
	if _, err := h.mod.svc.Query(context.Background(), `DROP VIEW sales`, nil, 0); err == nil {
		t.Fatal("querier ran DROP")
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{"plain", `q"uote\back`, "tab\tnl\ncr\r\x01\x1f", "ünï 😀", "<a>&", "", int64(-5), 3.25, 1e21, true, nil} {
		got, err := appendJSON(nil, v, "")
		must(t, err)
		var back, want any
		must(t, json.Unmarshal(got, &back))
		wb, _ := json.Marshal(v)
		must(t, json.Unmarshal(wb, &want))
		if fmt.Sprint(back) != fmt.Sprint(want) {
			t.Errorf("%q: got %s, want %s", v, got, wb)
		}
	}
	got, _ := appendJSON(nil, "bad\xffutf8", "")
	if !json.Valid(got) {
		t.Fatalf("invalid utf-8 gave %q", got)
	}
}
