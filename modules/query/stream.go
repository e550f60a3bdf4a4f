package query

import (
	"bufio"
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"lakehouse/modules/kit"
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

// TruncatedTrailer is the HTTP trailer a stream cut by max_stream_bytes
// carries: the reason, e.g. "max_stream_bytes (1073741824) reached".
const TruncatedTrailer = "X-Lakehouse-Truncated"

// ErrorTrailer is the HTTP trailer a stream that failed after its first
// byte carries: "<code>: <message>" of the error that ended it. Without
// it a cut csv or arrow stream would end like a complete one.
const ErrorTrailer = "X-Lakehouse-Error"

// streamTrailers is the Trailer header every stream declares.
const streamTrailers = TruncatedTrailer + ", " + ErrorTrailer

// streamRows writes ndjson (one object per row) or csv (a header, then
// rows) as DuckDB hands chunks over, never holding the whole answer, up
// to max_stream_bytes. A failure after the first byte ends the stream
// with the ErrorTrailer trailer, and ndjson gets a final {"error": ...}
// line, so a reader can tell a cut stream from a short one. A stream cut
// by the byte cap ends at the last whole row, with the TruncatedTrailer
// trailer and (ndjson) a final {"truncated": true, ...} line.
func (m *Module) streamRows(ctx context.Context, c echo.Context, req sqlRequest) error {
	return m.svc.withRows(ctx, req.SQL, req.Params, func(cur Cursor) error {
		w := c.Response()
		ct := ContentTypeNDJSON
		if req.Format == "csv" {
			ct = ContentTypeCSV
		}
		w.Header().Set(echo.HeaderContentType, ct)
		w.Header().Set("Trailer", streamTrailers)
		w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriterSize(w, 64<<10)
		flush := flusher(c)
		reason, err := writeRows(ctx, bw, cur, req.Format, req.Limit, m.svc.limits.streamBytes, func() { _ = bw.Flush(); flush() })
		var last any
		if err != nil {
			last = map[string]any{"error": m.failStream(c, err, req.SQL)}
		} else if reason != "" {
			last = map[string]any{"truncated": true, "truncated_reason": reason}
			w.Header().Set(TruncatedTrailer, reason)
		}
		if last != nil && req.Format == "ndjson" {
			line, _ := json.Marshal(last)
			_, _ = bw.Write(append(line, '\n'))
		}
		_ = bw.Flush()
		flush()
		return err
	})
}

// failStream is the answer for an error met once a stream's first byte
// is out (see streamError), also set as the stream's ErrorTrailer.
func (m *Module) failStream(c echo.Context, err error, sqlText string) *kit.APIError {
	ae := m.streamError(c, m.svc.scrub.err(err), sqlText)
	c.Response().Header().Set(ErrorTrailer, ae.Code+": "+ae.Message)
	return ae
}

// writeRows writes the rows of cur in format ndjson or csv; limit 0 = all.
// It stops before the first row that would take the output past
// maxBytes and returns the reason ("" when every row was written).
func writeRows(ctx context.Context, w io.Writer, cur Cursor, format string, limit, maxBytes int, flush func()) (string, error) {
	vals := make([]driver.Value, len(cur.Columns))
	caps := rowCaps{bytes: maxBytes, bytesName: "max_stream_bytes"}
	written := 0
	emit := func(b []byte) (bool, error) {
		if len(b) > maxBytes-written {
			return false, nil
		}
		written += len(b)
		_, err := w.Write(b)
		return true, err
	}
	// csv: each record is rendered into rec first, so its size is known
	// before anything is written.
	var rec bytes.Buffer
	cw := csv.NewWriter(&rec)
	fields := make([]string, len(cur.Columns))
	// ndjson: each line is built by hand (keys pre-encoded, fast paths
	// for the common types): encoding/json per value was the bottleneck.
	keys := make([][]byte, len(cur.Columns))
	if format == "csv" {
		for i, col := range cur.Columns {
			fields[i] = col.Name
		}
		_ = cw.Write(fields)
		cw.Flush()
		if ok, err := emit(rec.Bytes()); !ok || err != nil {
			return caps.bytesReason(), err
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
	var line []byte
	for n := 0; limit <= 0 || n < limit; n++ {
		if n%flushEvery == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			if n > 0 {
				flush()
			}
		}
		err := cur.Next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		left := maxBytes - written
		if format == "csv" {
			size := 0
			for i, v := range vals {
				if fields[i], err = textValueMax(v, cur.Columns[i].Type, left-size); err != nil {
					break
				}
				size += len(fields[i])
			}
			if errors.Is(err, errOverBudget) {
				return caps.bytesReason(), nil
			}
			rec.Reset()
			if err := cw.Write(fields); err != nil {
				return "", err
			}
			cw.Flush()
			if ok, err := emit(rec.Bytes()); !ok || err != nil {
				return caps.bytesReason(), err
			}
			continue
		}
		line = line[:0]
		for i, v := range vals {
			line = append(line, keys[i]...)
			if line, err = appendValue(line, v, cur.Columns[i].Type, left); err != nil {
				break
			}
		}
		if errors.Is(err, errOverBudget) {
			return caps.bytesReason(), nil
		}
		if err != nil {
			return "", err
		}
		if len(keys) == 0 {
			line = append(line, '{')
		}
		line = append(line, '}', '\n')
		if ok, err := emit(line); !ok || err != nil {
			return caps.bytesReason(), err
		}
	}
	return "", nil
}
