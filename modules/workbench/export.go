package workbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/query"
)

// exportTimeoutMS asks the query module for its longest allowed run: an
// export reads the whole answer (the module caps it at query.max_timeout).
const exportTimeoutMS = 3_600_000

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// export streams the whole answer of a read-only query as a download:
// GET /v1/workbench/export?sql=...&params=[...]&format=csv|json|parquet&filename=...
// It is a GET so the browser's own download manager can stream it to
// disk (no page holds the rows); the SQL runs through POST /v1/sql as a
// sub-request, with that route's lockdown, limits and errors.
func (m *Module) export(c echo.Context) error {
	sql := c.QueryParam("sql")
	if sql == "" {
		return kit.BadRequest("sql is required (GET /v1/workbench/export?sql=...&format=csv)")
	}
	var params []any
	if p := c.QueryParam("params"); p != "" {
		if err := json.Unmarshal([]byte(p), &params); err != nil {
			return kit.BadRequest("params: must be a JSON array: %v", err)
		}
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	wire := map[string]string{"csv": "csv", "json": "ndjson", "parquet": "arrow"}[format]
	if wire == "" {
		return kit.BadRequest("format: %q is not csv, json or parquet", format)
	}
	name := unsafeFileChars.ReplaceAllString(c.QueryParam("filename"), "_")
	if name == "" || len(name) > 100 {
		name = "export"
	}
	body, _ := json.Marshal(map[string]any{"sql": sql, "params": params, "format": wire, "timeout_ms": exportTimeoutMS})
	disposition := fmt.Sprintf("attachment; filename=%q", name+"."+format)
	if format == "parquet" {
		return m.exportParquet(c, body, disposition)
	}
	w := &downloadWriter{ResponseWriter: c.Response(), disposition: disposition, jsonArray: format == "json"}
	kit.SubRequest(c, w, http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
	return m.finishDownload(c, w)
}

// downloadWriter passes the sub-request's answer through as it streams
// (the query module flushes every few thousand rows; nothing here holds
// more than a line), marking a 200 as an attachment; for JSON it turns
// the NDJSON lines into one array.
type downloadWriter struct {
	http.ResponseWriter
	disposition string
	jsonArray   bool
	ok          bool
	rows        int
	partial     []byte
}

// WriteHeader marks a 200 as a download; any other status is the query
// module's error answer, passed on as is.
func (w *downloadWriter) WriteHeader(status int) {
	if status == http.StatusOK {
		w.ok = true
		w.Header().Set("Content-Disposition", w.disposition)
		w.Header().Set("Cache-Control", "no-store")
		if w.jsonArray {
			w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
		}
	}
	w.ResponseWriter.WriteHeader(status)
	if w.ok && w.jsonArray {
		_, _ = w.ResponseWriter.Write([]byte("[\n"))
	}
}

// Write passes p on; for JSON it writes each whole NDJSON line as an
// array element and keeps the unfinished tail for the next call.
func (w *downloadWriter) Write(p []byte) (int, error) {
	if !w.ok || !w.jsonArray {
		return w.ResponseWriter.Write(p)
	}
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		l := p[:i]
		if len(w.partial) > 0 {
			l = append(w.partial, l...)
			w.partial = w.partial[:0]
		}
		if err := w.line(l); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	w.partial = append(w.partial, p...)
	return n, nil
}

// line writes one NDJSON line as the next array element.
func (w *downloadWriter) line(l []byte) error {
	if len(bytes.TrimSpace(l)) == 0 {
		return nil
	}
	if w.rows > 0 {
		if _, err := w.ResponseWriter.Write([]byte(",\n")); err != nil {
			return err
		}
	}
	w.rows++
	_, err := w.ResponseWriter.Write(l)
	return err
}

// Flush forwards to the connection so rows leave as DuckDB produces them.
func (w *downloadWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// finishDownload ends a CSV or JSON download once the sub-request is
// done. One that failed after its first byte (the query module's
// ErrorTrailer) gets a last line saying why — JSON's is the NDJSON
// {"error": ...} element, and the array is left open — and is then cut,
// so the client sees a broken transfer, not a complete file.
func (m *Module) finishDownload(c echo.Context, w *downloadWriter) error {
	if !w.ok {
		return nil
	}
	failed := w.Header().Get(query.ErrorTrailer)
	if w.jsonArray {
		if err := w.line(w.partial); err != nil {
			return nil // the client went away
		}
		if failed == "" {
			_, _ = w.ResponseWriter.Write([]byte("\n]\n"))
			return nil
		}
		_, _ = w.ResponseWriter.Write([]byte("\n"))
	} else if failed != "" {
		_, _ = fmt.Fprintf(w.ResponseWriter, "export failed: %s\n", failed)
	}
	if failed != "" {
		m.abort(c, failed)
	}
	return nil
}

// abort cuts a download whose answer failed after its first byte: what
// was written is flushed, then the connection is closed without the end
// of the chunked body, which clients report as a failed transfer (a
// browser's download manager shows "Failed"). HTTP/2 has no connection
// to take over; the stream is reset instead.
func (m *Module) abort(c echo.Context, why string) {
	m.log.Warn("export: the answer failed after the first byte; download cut", "err", why)
	rc := http.NewResponseController(c.Response())
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// pipeResponse is the http.ResponseWriter a sub-request writes its Arrow
// stream into; the handler reads the other end of the pipe.
type pipeResponse struct {
	header http.Header
	status int
	once   sync.Once
	begun  chan struct{}
	pw     *io.PipeWriter
}

// Header is the sub-request's own header map, read (trailers included)
// once it is done.
func (p *pipeResponse) Header() http.Header { return p.header }

// WriteHeader records the first status and lets the handler go on.
func (p *pipeResponse) WriteHeader(s int) {
	p.once.Do(func() { p.status = s; close(p.begun) })
}

// Write passes the Arrow stream into the pipe; it blocks until the
// handler has read it, so at most one batch is in flight.
func (p *pipeResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}

// Flush is a no-op: the pipe has no buffer.
func (p *pipeResponse) Flush() {}

// Parquet exports are written one row group at a time, each sent as soon
// as it is complete: a row group ends at parquetGroupRows rows (the
// length ingest and compaction write) or once its encoded pages reach
// parquetGroupBytes, so a wide answer does not hold more.
const (
	parquetGroupRows  = 122_880
	parquetGroupBytes = 8 << 20
)

// parquetPageBytes caps each column's data page and dictionary, which
// the writer keeps in memory per column while a row group is built. The
// arrow-go default (1 MiB each) more than doubled an export's heap for
// no gain: Snappy compresses in 64 KiB blocks anyway, and a column with
// more distinct values than that falls back to plain encoding, which
// also made the measured files smaller.
const parquetPageBytes = 64 << 10

// exportParquet converts the query's Arrow stream into a Parquet file as
// it arrives (Snappy): record batches are buffered into the current row
// group, which is written out and flushed to the client when it is full,
// so memory holds one row group, not the file.
func (m *Module) exportParquet(c echo.Context, body []byte, disposition string) error {
	pr, pw := io.Pipe()
	sub := &pipeResponse{header: http.Header{}, begun: make(chan struct{}), pw: pw}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kit.SubRequest(c, sub, http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
		sub.WriteHeader(http.StatusInternalServerError) // no answer at all
		_ = pw.Close()
	}()
	// Closing the pipe unblocks a sub-request we stopped reading early;
	// waiting for it means it never outlives the request.
	ended := func() { _ = pr.Close(); <-done }
	defer ended()
	<-sub.begun
	if sub.status != http.StatusOK {
		// The query module's error answer (400 bad SQL, 504 timeout, ...) as is.
		for k, v := range sub.header {
			c.Response().Header()[k] = v
		}
		c.Response().WriteHeader(sub.status)
		_, err := io.Copy(c.Response(), pr)
		return err
	}
	rd, err := ipc.NewReader(pr)
	if err != nil {
		ended()
		if failed := sub.header.Get(query.ErrorTrailer); failed != "" {
			return kit.Errorf(http.StatusInternalServerError, "export_failed", "export: the query failed: %s", failed)
		}
		return fmt.Errorf("workbench: read arrow stream: %w", err)
	}
	defer rd.Release()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/vnd.apache.parquet")
	h.Set("Content-Disposition", disposition)
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", query.TruncatedTrailer)
	c.Response().WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.Response())
	out := &countingWriter{w: c.Response()}
	fw, err := pqarrow.NewFileWriter(rd.Schema(), out, parquetProps(len(rd.Schema().Fields())), pqarrow.DefaultWriterProps())
	if err != nil {
		m.abort(c, fmt.Sprintf("parquet writer: %v", err))
		return nil
	}
	flushed := int64(-1)
	flush := func() {
		if out.n != flushed {
			_ = rc.Flush()
			flushed = out.n
		}
	}
	flush() // the headers and the file's magic go out before the first row group
	full := false
	for rd.Next() {
		if full {
			// Starting the next row group writes out the full one.
			if err := fw.NewBufferedRowGroupChecked(); err != nil {
				m.log.Debug("export: parquet write", "err", err)
				return nil // the client went away
			}
			flush()
		}
		if err := fw.WriteBuffered(rd.RecordBatch()); err != nil {
			m.log.Debug("export: parquet write", "err", err)
			return nil
		}
		flush() // WriteBuffered starts a new group itself past parquetGroupRows
		rows, _ := fw.RowGroupNumRows()
		full = rows >= parquetGroupRows || fw.RowGroupTotalBytesWritten() >= parquetGroupBytes
	}
	streamErr := rd.Err()
	ended() // the sub-request is over: its trailers are final
	if failed := sub.header.Get(query.ErrorTrailer); failed != "" || streamErr != nil {
		if failed == "" {
			failed = streamErr.Error()
		}
		// No footer: the cut file is unreadable, not silently short.
		m.abort(c, failed)
		return nil
	}
	if err := fw.Close(); err != nil {
		m.log.Debug("export: parquet close", "err", err)
		return nil
	}
	if reason := sub.header.Get(query.TruncatedTrailer); reason != "" {
		h.Set(query.TruncatedTrailer, reason)
	}
	return nil
}

// parquetProps are an export's writer properties for ncols columns:
// pages and dictionaries of parquetPageBytes, smaller for a very wide
// answer (at least 8 KiB) so all columns' together stay near 8 MiB.
func parquetProps(ncols int) *parquet.WriterProperties {
	page := int64(max(8<<10, min(parquetPageBytes, (8<<20)/max(ncols, 1))))
	return parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetGroupRows),
		parquet.WithDataPageSize(page),
		parquet.WithDictionaryPageSizeLimit(page),
	)
}

// countingWriter counts the bytes written through it, so the export
// flushes only when a row group went out.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write writes p and counts it.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
