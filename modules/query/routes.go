package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// Routes implements kit.Router: POST /v1/sql (a read, so not audited),
// GET /v1/sql/tables (the queryable names) and GET /v1/sql/cache (S3
// part-cache statistics).
func (m *Module) Routes(g *echo.Group) {
	g.POST("", m.handleSQL, kit.ReadOnly)
	g.GET("/tables", m.handleTables)
	g.GET("/cache", m.handleCache)
	g.GET("/changes/:name", m.handleChanges)
}

// sqlRequest is the body of POST /v1/sql. "query" is accepted as an
// alias of "sql".
type sqlRequest struct {
	SQL       string `json:"sql"`
	Query     string `json:"query"`
	Params    []any  `json:"params"`
	Limit     int    `json:"limit"`
	TimeoutMS int    `json:"timeout_ms"`
	Format    string `json:"format"`
}

func decodeSQLRequest(r io.Reader) (sqlRequest, error) {
	var req sqlRequest
	if err := kit.DecodeJSON(r, &req, kit.UseNumber()); err != nil {
		return req, err
	}
	if req.SQL == "" {
		req.SQL = req.Query
	}
	if req.Limit < 0 {
		return req, kit.BadRequest("limit: must not be negative")
	}
	if req.TimeoutMS < 0 {
		return req, kit.BadRequest("timeout_ms: must not be negative")
	}
	req.Format = strings.ToLower(strings.TrimSpace(req.Format))
	switch req.Format {
	case "":
		req.Format = "json"
	case "json", "ndjson", "csv", "arrow":
	default:
		return req, kit.BadRequest("format: %q is not json, ndjson, csv or arrow", req.Format)
	}
	for i, p := range req.Params {
		req.Params[i] = paramValue(p)
	}
	return req, nil
}

// paramValue turns decoded JSON into driver values: integral numbers
// become BIGINT, others DOUBLE (and a list of numbers with any fraction
// DOUBLE[]).
func paramValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		hasFloat, allNumbers := false, true
		for i := range x {
			x[i] = paramValue(x[i])
			switch x[i].(type) {
			case float64:
				hasFloat = true
			case int64:
			default:
				allNumbers = false
			}
		}
		// [1.5, 2] is a DOUBLE[] to the user; the driver refuses a
		// list that mixes DOUBLE and BIGINT.
		if hasFloat && allNumbers {
			for i, e := range x {
				if n, ok := e.(int64); ok {
					x[i] = float64(n)
				}
			}
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = paramValue(x[k])
		}
		return x
	}
	return v
}

func (m *Module) handleSQL(c echo.Context) error {
	req, err := decodeSQLRequest(c.Request().Body)
	if err != nil {
		return err
	}
	return m.answerSQL(c, req)
}

// handleChanges is GET /v1/sql/changes/:name?from=N[&to=M][&format=…]:
// the change feed of "name@N..M" (see changes.go), in the formats of
// POST /v1/sql (json by default; ndjson, csv and arrow stream).
func (m *Module) handleChanges(c echo.Context) error {
	name := c.Param("name")
	if err := catalog.ValidateName(name); err != nil {
		return err
	}
	from, err := strconv.Atoi(c.QueryParam("from"))
	if err != nil || from < 1 {
		return kit.BadRequest("from: the version to read changes after (a positive integer), not %q", c.QueryParam("from"))
	}
	to := ""
	if v := c.QueryParam("to"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= from {
			return kit.BadRequest("to: a version after from (%d), not %q", from, v)
		}
		to = strconv.Itoa(n)
	}
	req := sqlRequest{SQL: fmt.Sprintf("SELECT * FROM %s", quoteIdent(fmt.Sprintf("%s@%d..%s", name, from, to))), Format: c.QueryParam("format")}
	if v := c.QueryParam("limit"); v != "" {
		if req.Limit, err = strconv.Atoi(v); err != nil || req.Limit < 0 {
			return kit.BadRequest("limit: a non-negative integer, not %q", v)
		}
	}
	if req.Format == "" {
		req.Format = negotiatedFormat(c.Request().Header.Get("Accept"))
	}
	switch req.Format {
	case "json", "ndjson", "csv", "arrow":
	default:
		return kit.BadRequest("format: %q is not json, ndjson, csv or arrow", req.Format)
	}
	return m.answerSQL(c, req)
}

// negotiatedFormat picks an answer format from an Accept header.
func negotiatedFormat(accept string) string {
	switch {
	case strings.Contains(accept, "application/x-ndjson"), strings.Contains(accept, "application/ndjson"):
		return "ndjson"
	case strings.Contains(accept, "text/csv"):
		return "csv"
	case strings.Contains(accept, "application/vnd.apache.arrow.stream"):
		return "arrow"
	}
	return "json"
}

// answerSQL runs a checked request and writes its answer in its format.
func (m *Module) answerSQL(c echo.Context, req sqlRequest) error {
	start := time.Now()
	var err error
	timeout := m.svc.timeout
	if req.TimeoutMS > 0 {
		timeout = min(time.Duration(req.TimeoutMS)*time.Millisecond, m.svc.maxTime)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
	defer cancel()
	switch req.Format {
	case "arrow":
		err = m.streamArrow(ctx, c, req)
	case "ndjson", "csv":
		err = m.streamRows(ctx, c, req)
	default:
		var a *encodedAnswer
		if a, err = m.svc.queryEncoded(ctx, req.SQL, req.Params, req.Limit); err == nil {
			return writeAnswer(c, a, start)
		}
	}
	if err != nil && !c.Response().Committed {
		return wrapErr(err, req.SQL)
	}
	if err != nil {
		m.log.Warn("query: stream ended early", "err", err, "format", req.Format)
	}
	return nil
}

// streamError is the answer for an error met once rows flow, written as
// the stream's last line, made as every error answer is (kit.Answer): a
// 500 says only "internal error" and the request id; its cause goes to
// the log.
func (m *Module) streamError(c echo.Context, err error, sqlText string) *kit.APIError {
	return kit.AnswerFor(c, wrapErr(err, sqlText), m.log)
}

// writeAnswer writes a json answer in the shape of Result, the rows
// copied from their encoding rather than built as Go values again.
func writeAnswer(c echo.Context, a *encodedAnswer, start time.Time) error {
	cols, err := json.Marshal(a.columns)
	if err != nil {
		return err
	}
	head := append(append([]byte(`{"columns":`), cols...), `,"rows":[`...)
	tail := fmt.Appendf(nil, `],"row_count":%d,"truncated":%t`, a.n, a.reason != "")
	if a.reason != "" {
		reason, _ := json.Marshal(a.reason)
		tail = append(append(tail, `,"truncated_reason":`...), reason...)
	}
	elapsed := float64(time.Since(start).Microseconds()) / 1000
	tail = append(strconv.AppendFloat(append(tail, `,"elapsed_ms":`...), elapsed, 'f', -1, 64), "}\n"...)
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.Header().Set(echo.HeaderContentLength, strconv.Itoa(len(head)+len(a.rows)+len(tail)))
	w.WriteHeader(http.StatusOK)
	for _, part := range [][]byte{head, a.rows, tail} {
		if _, err := w.Write(part); err != nil {
			return nil // the client went away; nothing left to tell it
		}
	}
	return nil
}

func (m *Module) handleTables(c echo.Context) error {
	tables := []string{}
	for _, n := range m.svc.views.names() {
		if base, _, _ := strings.Cut(n, "@"); kit.SeesDataset(c.Request().Context(), base) {
			tables = append(tables, n)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"tables": tables})
}

func (m *Module) handleCache(c echo.Context) error {
	if m.cache == nil {
		return c.JSON(http.StatusOK, map[string]any{"enabled": false})
	}
	return c.JSON(http.StatusOK, map[string]any{"enabled": true, "stats": m.cache.stats()})
}

func flusher(c echo.Context) func() {
	return func() {
		if f, ok := c.Response().Writer.(http.Flusher); ok {
			f.Flush()
		}
	}
}
