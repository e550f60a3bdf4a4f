package app

import (
	"bufio"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// paceWrites gives every response write a deadline of idle from now, so a
// client that stops reading an answer (a streamed query, an export) fails
// the write and frees the handler, instead of holding it forever. A whole
// response may take as long as it needs while the client keeps reading.
func paceWrites(idle time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			w := c.Response().Writer
			rc := http.NewResponseController(w)
			c.Response().Writer = &pacedWriter{ResponseWriter: w, rc: rc, idle: idle}
			defer func() {
				_ = rc.SetWriteDeadline(time.Time{})
				c.Response().Writer = w
			}()
			return next(c)
		}
	}
}

type pacedWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.idle))
	return p.ResponseWriter.Write(b)
}

func (p *pacedWriter) Flush() {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.idle))
	_ = p.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection underneath.
func (p *pacedWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// Hijack passes through for the (rare) handler that takes the connection.
func (p *pacedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(p.ResponseWriter).Hijack()
}
