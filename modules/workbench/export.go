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

	"lakehouse/app"
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
		return app.BadRequest("sql is required (GET /v1/workbench/export?sql=...&format=csv)")
	}
	var params []any
	if p := c.QueryParam("params"); p != "" {
		if err := json.Unmarshal([]byte(p), &params); err != nil {
			return app.BadRequest("params: must be a JSON array: %v", err)
		}
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	wire := map[string]string{"csv": "csv", "json": "ndjson", "parquet": "arrow"}[format]
	if wire == "" {
		return app.BadRequest("format: %q is not csv, json or parquet", format)
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
	app.SubRequest(c, w, http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
	return w.finish()
}

// downloadWriter passes the sub-request's answer through, marking a 200
// as an attachment; for JSON it turns the NDJSON lines into one array.
type downloadWriter struct {
	http.ResponseWriter
	disposition string
	jsonArray   bool
	ok          bool
	rows        int
	partial     []byte
}

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

func (w *downloadWriter) Write(p []byte) (int, error) {
	if !w.ok || !w.jsonArray {
		return w.ResponseWriter.Write(p)
	}
	n := len(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if err := w.line(w.partial[:i]); err != nil {
			return 0, err
		}
		w.partial = w.partial[i+1:]
	}
	return n, nil
}

func (w *downloadWriter) line(l []byte) error {
	if len(bytes.TrimSpace(l)) == 0 {
		return nil
	}
	sep := []byte(",\n")
	if w.rows == 0 {
		sep = nil
	}
	w.rows++
	_, err := w.ResponseWriter.Write(append(sep, l...))
	return err
}

// Flush forwards to the connection so rows leave as DuckDB produces them.
func (w *downloadWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *downloadWriter) finish() error {
	if w.ok && w.jsonArray {
		if err := w.line(w.partial); err != nil {
			return err
		}
		_, err := w.ResponseWriter.Write([]byte("\n]\n"))
		return err
	}
	return nil
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

func (p *pipeResponse) Header() http.Header { return p.header }
func (p *pipeResponse) WriteHeader(s int) {
	p.once.Do(func() { p.status = s; close(p.begun) })
}
func (p *pipeResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}
func (p *pipeResponse) Flush() {}

// exportParquet converts the query's Arrow stream into a Parquet file as
// it arrives (Snappy, one row group per DuckDB chunk batch).
func (m *Module) exportParquet(c echo.Context, body []byte, disposition string) error {
	pr, pw := io.Pipe()
	sub := &pipeResponse{header: http.Header{}, begun: make(chan struct{}), pw: pw}
	go func() {
		app.SubRequest(c, sub, http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
		sub.WriteHeader(http.StatusInternalServerError) // no answer at all
		_ = pw.Close()
	}()
	defer pr.Close() // unblocks the sub-request if we stop reading early
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
		return fmt.Errorf("workbench: read arrow stream: %w", err)
	}
	defer rd.Release()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/vnd.apache.parquet")
	h.Set("Content-Disposition", disposition)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(rd.Schema(), c.Response(), props, pqarrow.DefaultWriterProps())
	if err != nil {
		m.log.Warn("export: parquet writer", "err", err)
		return nil // headers are out; the client sees a cut file
	}
	for rd.Next() {
		if err := fw.WriteBuffered(rd.RecordBatch()); err != nil {
			m.log.Warn("export: parquet write", "err", err)
			return nil
		}
	}
	if err := rd.Err(); err != nil {
		m.log.Warn("export: arrow stream ended early", "err", err)
		return nil // no footer: the truncated file is unreadable, not silently short
	}
	if err := fw.Close(); err != nil {
		m.log.Warn("export: parquet close", "err", err)
	}
	return nil
}
