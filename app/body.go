package app

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// ErrBodyTooLarge is returned by a request body read past its route's cap;
// the error handler turns it into a 413.
var ErrBodyTooLarge = errors.New("request body too large")

const contextBody = "lakehouse.body"

// limitedBody caps a request body. The cap is read at the first Read, so a
// route-level BodyLimit can raise or lower the group default before the
// handler touches the body.
type limitedBody struct {
	rc      io.ReadCloser
	limit   int64
	read    int64
	length  int64 // Content-Length, -1 unknown
	started bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		if b.length > b.limit {
			return 0, ErrBodyTooLarge
		}
	}
	if b.read > b.limit {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > b.limit-b.read+1 {
		p = p[:b.limit-b.read+1]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return n, ErrBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// defaultBodyLimit wraps every request body with the group's default cap.
func defaultBodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body != nil && r.Body != http.NoBody {
				lb := &limitedBody{rc: r.Body, limit: limit, length: r.ContentLength}
				r.Body = lb
				c.Set(contextBody, lb)
			}
			return next(c)
		}
	}
}

// BodyLimit is a route middleware that sets the route's body cap (routes
// where data flows, such as storage PUT or ingest, raise it). A declared
// Content-Length over the cap is refused before anything is read.
func BodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if lb, ok := c.Get(contextBody).(*limitedBody); ok {
				lb.limit = limit
			}
			if c.Request().ContentLength > limit {
				return TooLarge("request body of %d bytes exceeds the %d-byte limit", c.Request().ContentLength, limit)
			}
			return next(c)
		}
	}
}
