package kit

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// ContextScrubber is the echo context key holding the server's
// PathScrubber (set for every request), which AnswerFor applies.
const ContextScrubber = "lakehouse.scrubber"

// Answer is the one way an error becomes what a client is told, wherever
// it is told (the error handler, the last line of a stream, the Iceberg
// routes in their spec's shape): the typed error's status, code, message
// and details; a 5xx other than 503/504 goes to log with its cause under
// the request id; a 500 says only "internal error" and that id; every
// other message is scrubbed of the server's own paths.
func Answer(err error, reqID string, scrub PathScrubber, log *slog.Logger, attrs ...any) *APIError {
	ae := AsAPIError(err)
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable && ae.Status != http.StatusGatewayTimeout && log != nil {
		log.Error("request failed", append([]any{"err", err, "request_id", reqID}, attrs...)...)
	}
	if ae.Status == http.StatusInternalServerError {
		return InternalError(reqID)
	}
	return scrub.APIError(ae)
}

// AnswerFor is Answer for the request in c: its request id and the
// server's scrubber.
func AnswerFor(c echo.Context, err error, log *slog.Logger, attrs ...any) *APIError {
	scrub, _ := c.Get(ContextScrubber).(PathScrubber)
	attrs = append(attrs, "path", c.Request().URL.Path)
	return Answer(err, c.Response().Header().Get(echo.HeaderXRequestID), scrub, log, attrs...)
}
