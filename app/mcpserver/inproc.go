package mcpserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// HandlerTransport is an http.RoundTripper that serves each request with h
// in this process: no socket, but the same handler chain (auth gate, body
// limits, media types, error shape, audit) an HTTP client goes through.
// The answer streams: the response returns once the handler commits its
// status, and its body is fed as the handler writes and flushes, so NDJSON
// progress lines arrive while the handler still runs.
func HandlerTransport(h http.Handler) http.RoundTripper { return handlerTransport{h: h} }

type handlerTransport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	r := req.Clone(ctx)
	r.RequestURI = req.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:1" // in-process calls come from this host
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, body: pw, committed: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				// net/http would log and drop the connection; the client
				// sees a broken body or no answer, the process survives.
				w.commit(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("handler panic: %v", p))
				return
			}
			w.commit(http.StatusOK)
			pw.Close()
		}()
		t.h.ServeHTTP(w, r)
	}()
	select {
	case <-w.committed:
	case <-ctx.Done():
		cancel()
		pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{PipeReader: pr, cancel: cancel},
		ContentLength: -1,
		Request:       req,
	}, nil
}

// pipeBody cancels the handler when the caller stops reading, as a closed
// connection would.
type pipeBody struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Close() error {
	b.cancel()
	return b.PipeReader.Close()
}

// pipeResponse is the handler's http.ResponseWriter: headers are frozen at
// the first WriteHeader/Write/Flush, the body goes into a pipe.
type pipeResponse struct {
	header    http.Header
	body      *io.PipeWriter
	once      sync.Once
	committed chan struct{}
	status    int
	sent      http.Header
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) commit(status int) {
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.committed)
	})
}

// WriteHeader implements http.ResponseWriter; informational codes are
// ignored like net/http's client does.
func (w *pipeResponse) WriteHeader(status int) {
	if status >= 200 {
		w.commit(status)
	}
}

func (w *pipeResponse) Write(p []byte) (int, error) {
	w.commit(http.StatusOK)
	return w.body.Write(p)
}

// Flush implements http.Flusher: every Write already reaches the reader.
func (w *pipeResponse) Flush() { w.commit(http.StatusOK) }
