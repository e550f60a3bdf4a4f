//go:build duckdb_arrow

package query

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/labstack/echo/v4"
)

// streamArrow writes an Arrow IPC stream straight from DuckDB's Arrow
// result (one record batch per DuckDB chunk), flushing after each batch.
// A batch that would take the stream past max_stream_bytes is not
// written: the stream ends there, with the TruncatedTrailer trailer. A
// failure once batches flow ends the stream without its end-of-stream
// marker (a reader sees it cut, not complete) and with the ErrorTrailer
// trailer.
func (m *Module) streamArrow(ctx context.Context, c echo.Context, req sqlRequest) error {
	if err := checkParams(req.Params); err != nil {
		return err
	}
	maxBytes := int64(m.svc.limits.streamBytes)
	// The driver's Arrow API takes SQL text, so the statement is bound again.
	return m.svc.withConn(ctx, req.SQL, func(dc *duckdb.Conn, _ *duckdb.Stmt) error {
		ar, err := duckdb.NewArrowFromConn(dc)
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, req.SQL, req.Params...)
		if err != nil {
			return err
		}
		defer rr.Release()
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, ContentTypeArrow)
		w.Header().Set("Trailer", streamTrailers)
		w.WriteHeader(http.StatusOK)
		flush := flusher(c)
		cw := &countingWriter{w: w}
		iw := ipc.NewWriter(cw, ipc.WithSchema(rr.Schema()))
		left := int64(req.Limit)
		for (req.Limit <= 0 || left > 0) && rr.Next() {
			rec := rr.RecordBatch()
			n := rec.NumRows()
			if req.Limit > 0 && n > left {
				n = left
			}
			// A batch that does not fit is cut by its average row size;
			// the stream ends after it.
			full := false
			if size := recordSize(rec); n > 0 && cw.n+size > maxBytes {
				perRow := max(size/rec.NumRows(), 1)
				n = min(n, max(maxBytes-cw.n, 0)/perRow)
				full = true
			}
			if n == 0 {
				w.Header().Set(TruncatedTrailer, fmt.Sprintf("max_stream_bytes (%d) reached", maxBytes))
				break
			}
			if n < rec.NumRows() {
				part := rec.NewSlice(0, n)
				err = iw.Write(part)
				part.Release()
			} else {
				err = iw.Write(rec)
			}
			if err != nil {
				return err // the client went away: no trailer reaches it
			}
			left -= n
			flush()
			if full {
				w.Header().Set(TruncatedTrailer, fmt.Sprintf("max_stream_bytes (%d) reached", maxBytes))
				break
			}
		}
		if err := rr.Err(); err != nil {
			m.failStream(c, err, req.SQL)
			return err
		}
		if err := iw.Close(); err != nil {
			return err
		}
		flush()
		return nil
	})
}

// recordSize is the bytes of a batch's buffers (what the IPC writer
// copies out, give or take padding and metadata).
func recordSize(rec arrow.RecordBatch) int64 {
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
		if d.DataType().ID() == arrow.DICTIONARY {
			walk(d.Dictionary())
		}
	}
	for _, col := range rec.Columns() {
		walk(col.Data())
	}
	return n
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
