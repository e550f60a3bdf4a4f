package query

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Content types of the streamed formats.
const (
	ContentTypeNDJSON = "application/x-ndjson"
	ContentTypeCSV    = "text/csv; charset=utf-8"
	ContentTypeArrow  = "application/vnd.apache.arrow.stream"
)

// flushEvery is how many rows a text stream writes between flushes.
const flushEvery = 4096

// streamRows writes ndjson (one object per row) or csv (a header, then
// rows) as DuckDB hands chunks over, never holding the whole answer. A
// failure after the first byte ends the stream: ndjson gets a final
// {"error": ...} line so a reader can tell a cut stream from a short one.
func (m *Module) streamRows(ctx context.Context, c echo.Context, req sqlRequest) error {
	return m.svc.withRows(ctx, req.SQL, req.Params, func(cur Cursor) error {
		w := c.Response()
		ct := ContentTypeNDJSON
		if req.Format == "csv" {
			ct = ContentTypeCSV
		}
		w.Header().Set(echo.HeaderContentType, ct)
		w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriterSize(w, 64<<10)
		flush := flusher(c)
		err := writeRows(ctx, bw, cur, req.Format, req.Limit, func() { _ = bw.Flush(); flush() })
		if err != nil && req.Format == "ndjson" {
			ae := APIError(err, req.SQL)
			line, _ := json.Marshal(map[string]any{"error": ae})
			_, _ = bw.Write(append(line, '\n'))
		}
		_ = bw.Flush()
		flush()
		return err
	})
}

// writeRows writes the rows of cur in format ndjson or csv; limit 0 = all.
func writeRows(ctx context.Context, w io.Writer, cur Cursor, format string, limit int, flush func()) error {
	vals := make([]driver.Value, len(cur.Columns))
	var cw *csv.Writer
	// ndjson: each line is built by hand (keys pre-encoded, fast paths
	// for the common types): encoding/json per value was the bottleneck.
	keys := make([][]byte, len(cur.Columns))
	if format == "csv" {
		cw = csv.NewWriter(w)
		header := make([]string, len(cur.Columns))
		for i, col := range cur.Columns {
			header[i] = col.Name
		}
		if err := cw.Write(header); err != nil {
			return err
		}
	} else {
		for i, col := range cur.Columns {
			k, _ := json.Marshal(col.Name)
			sep := byte(',')
			if i == 0 {
				sep = '{'
			}
			keys[i] = append(append([]byte{sep}, k...), ':')
		}
	}
	rec := make([]string, len(cur.Columns))
	var line []byte
	for n := 0; limit <= 0 || n < limit; n++ {
		if n%flushEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if n > 0 {
				if cw != nil {
					cw.Flush()
				}
				flush()
			}
		}
		err := cur.Next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if cw != nil {
			for i, v := range vals {
				rec[i] = textValue(v, cur.Columns[i].Type)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
			continue
		}
		line = line[:0]
		for i, v := range vals {
			line = append(line, keys[i]...)
			if line, err = appendJSON(line, v, cur.Columns[i].Type); err != nil {
				return err
			}
		}
		if len(keys) == 0 {
			line = append(line, '{')
		}
		line = append(line, '}', '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return nil
}
