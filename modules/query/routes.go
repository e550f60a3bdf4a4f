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

	"lakehouse/app"
)

// Routes implements app.Router: POST /v1/sql (a read, so not audited),
// GET /v1/sql/tables (the queryable names) and GET /v1/sql/cache (S3
// part-cache statistics).
func (m *Module) Routes(g *echo.Group) {
	g.POST("", m.handleSQL, app.ReadOnly)
	g.GET("/tables", m.handleTables)
	g.GET("/cache", m.handleCache)
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
	if err := app.DecodeJSON(r, &req, app.UseNumber()); err != nil {
		return req, err
	}
	if req.SQL == "" {
		req.SQL = req.Query
	}
	if req.Limit < 0 {
		return req, app.BadRequest("limit: must not be negative")
	}
	if req.TimeoutMS < 0 {
		return req, app.BadRequest("timeout_ms: must not be negative")
	}
	req.Format = strings.ToLower(strings.TrimSpace(req.Format))
	switch req.Format {
	case "":
		req.Format = "json"
	case "json", "ndjson", "csv", "arrow":
	default:
		return req, app.BadRequest("format: %q is not json, ndjson, csv or arrow", req.Format)
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
	start := time.Now()
	req, err := decodeSQLRequest(c.Request().Body)
	if err != nil {
		return err
	}
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
// the stream's last line: a 500 (a failure that is not the request's
// fault) says only "internal error"; its cause goes to the log.
func (m *Module) streamError(err error, sqlText string) *app.APIError {
	ae := app.AsAPIError(wrapErr(err, sqlText))
	if ae.Status == http.StatusInternalServerError {
		m.log.Error("query failed", "err", err)
		ae = app.Errorf(http.StatusInternalServerError, "internal", "internal error")
	}
	return ae
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
	return c.JSON(http.StatusOK, map[string]any{"tables": m.svc.views.names()})
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
