package kit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// ErrBodyTooLarge is returned by a request body read past its route's cap;
// the error handler turns it into a 413.
var ErrBodyTooLarge = errors.New("request body too large")

// errBodyRefused is returned by a body read that the edge refused (wrong
// media type, a client sending too slowly); the route's middleware answers
// with the recorded refusal whatever the handler made of the read error.
var errBodyRefused = errors.New("request body refused")

const contextBody = "lakehouse.body"

// BodyPace bounds how slowly a client may send a body: each read must make
// progress within idle, and after a grace of idle the bytes received must
// keep up with minRate per second of time spent waiting for the client.
// Time the handler spends working between reads is not counted, so a slow
// consumer never blames the client.
type BodyPace struct {
	Idle    time.Duration
	MinRate int64 // bytes per second; 0 = no rate floor
}

// limitedBody caps a request body and polices it. The cap and the media
// types are read at the first Read, so route-level BodyLimit / MediaTypes
// can change the group defaults before the handler touches the body.
type limitedBody struct {
	rc          io.ReadCloser
	limit       int64
	read        int64
	length      int64 // Content-Length, -1 unknown
	started     bool
	contentType string
	media       []string // allowed media types; nil = JSON
	pace        BodyPace
	setDeadline func(time.Time) error // nil when the connection cannot take deadlines
	waited      time.Duration
	refusal     *APIError // why the body was refused, for the route's answer
}

func (b *limitedBody) refuse(e *APIError) (int, error) {
	if b.refusal == nil {
		b.refusal = e
	}
	return 0, fmt.Errorf("%w: %s", errBodyRefused, e.Message)
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.refusal != nil {
		return 0, fmt.Errorf("%w: %s", errBodyRefused, b.refusal.Message)
	}
	if !b.started {
		b.started = true
		if b.length > b.limit {
			return 0, ErrBodyTooLarge
		}
		if b.length != 0 && !mediaAllowed(b.contentType, b.media) {
			return b.refuse(unsupportedMedia(b.contentType, b.media))
		}
	}
	if b.read > b.limit {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > b.limit-b.read+1 {
		p = p[:b.limit-b.read+1]
	}
	if b.setDeadline != nil && b.pace.Idle > 0 {
		_ = b.setDeadline(time.Now().Add(b.pace.Idle))
	}
	start := time.Now()
	n, err := b.rc.Read(p)
	b.waited += time.Since(start)
	b.read += int64(n)
	if err == io.EOF && b.setDeadline != nil {
		// net/http starts its own background read at EOF; it must not
		// inherit our per-read deadline and cancel a long handler.
		_ = b.setDeadline(time.Time{})
	}
	if b.read > b.limit {
		return n, ErrBodyTooLarge
	}
	var ne interface{ Timeout() bool }
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		b.refuse(Errorf(http.StatusRequestTimeout, "body_timeout",
			"request body stalled: no data for %s (server.body_idle_timeout)", b.pace.Idle))
		return n, fmt.Errorf("%w: %v", errBodyRefused, err)
	}
	if b.pace.MinRate > 0 && err == nil {
		if over := b.waited - b.pace.Idle; over > 0 && b.read < int64(over.Seconds()*float64(b.pace.MinRate)) {
			b.refuse(Errorf(http.StatusRequestTimeout, "body_too_slow",
				"request body arrived at under %d bytes/s (server.body_min_rate)", b.pace.MinRate))
			return n, fmt.Errorf("%w: too slow", errBodyRefused)
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func unsupportedMedia(got string, allowed []string) *APIError {
	if len(allowed) == 0 {
		allowed = jsonMediaTypes
	}
	return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type %q is not accepted here; send %v (e.g. curl -H 'Content-Type: application/json')",
		Truncate(got, 100), allowed)
}

// PolicedBody wraps every request body with the group's default cap, the
// JSON media default and the pace floor. After the handler, a refusal the
// body recorded wins over whatever the handler made of the failed read,
// so every route answers 413/415/408 the same way.
func PolicedBody(limit int64, pace BodyPace) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			lb := &limitedBody{rc: r.Body, limit: limit, length: r.ContentLength,
				contentType: r.Header.Get(echo.HeaderContentType), pace: pace}
			rc := http.NewResponseController(c.Response().Writer)
			lb.setDeadline = rc.SetReadDeadline
			r.Body = lb
			c.Set(contextBody, lb)
			err := next(c)
			if lb.refusal != nil && !c.Response().Committed {
				return lb.refusal
			}
			if err != nil && errors.Is(err, ErrBodyTooLarge) {
				return TooLarge("request body exceeds this route's size limit of %d bytes", lb.limit)
			}
			if lb.read > lb.limit && !c.Response().Committed {
				return TooLarge("request body exceeds this route's size limit of %d bytes", lb.limit)
			}
			return err
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

// Truncate cuts s to n bytes, marking the cut, for error messages that
// quote client input (a header, a path, an id).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
