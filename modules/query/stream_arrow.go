//go:build duckdb_arrow

package query

import (
	"context"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/labstack/echo/v4"
)

// streamArrow writes an Arrow IPC stream straight from DuckDB's Arrow
// result (one record batch per DuckDB chunk), flushing after each batch.
func (m *Module) streamArrow(ctx context.Context, c echo.Context, req sqlRequest) error {
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
		w.WriteHeader(http.StatusOK)
		flush := flusher(c)
		iw := ipc.NewWriter(w, ipc.WithSchema(rr.Schema()))
		left := int64(req.Limit)
		for (req.Limit <= 0 || left > 0) && rr.Next() {
			rec := rr.RecordBatch()
			n := rec.NumRows()
			if req.Limit > 0 && n > left {
				n = left
				part := rec.NewSlice(0, n)
				err = iw.Write(part)
				part.Release()
			} else {
				err = iw.Write(rec)
			}
			if err != nil {
				return err
			}
			left -= n
			flush()
		}
		if err := rr.Err(); err != nil {
			_ = iw.Close()
			return err
		}
		if err := iw.Close(); err != nil {
			return err
		}
		flush()
		return nil
	})
}
