package app

import (
	"errors"
	"lakehouse/modules/kit"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// errorHandler renders every error a handler returns in the one shape.
// A 500 never shows its cause: the body says "internal error" and the
// request id, and the cause goes to the log under that id. Every message
// is scrubbed of the server's own paths (data dir, temp dir, working dir),
// whichever module produced it.
func errorHandler(log *slog.Logger, serverPaths ...string) echo.HTTPErrorHandler {
	scrub := kit.NewPathScrubber(serverPaths...)
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		apiErr := kit.AsAPIError(err)
		if apiErr.Status == http.StatusNotFound && isRouterNotFound(err) {
			if e405 := methodNotAllowed(c.Echo(), routesOf(c), c.Request()); e405 != nil {
				apiErr = e405
			}
		}
		reqID := c.Response().Header().Get(echo.HeaderXRequestID)
		if apiErr.Status >= 500 && apiErr.Status != http.StatusServiceUnavailable && apiErr.Status != http.StatusGatewayTimeout && log != nil {
			log.Error("request failed", "err", err, "path", c.Request().URL.Path, "request_id", reqID)
		}
		if apiErr.Status == http.StatusInternalServerError {
			apiErr = kit.InternalError(reqID)
		} else {
			apiErr = scrub.APIError(apiErr)
		}
		for k, vs := range apiErr.Header {
			for _, v := range vs {
				c.Response().Header().Add(k, v)
			}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(apiErr.Status)
			return
		}
		_ = c.JSON(apiErr.Status, map[string]any{"error": apiErr})
	}
}

// isRouterNotFound is true for echo's own "no route" error (not a handler's 404).
func isRouterNotFound(err error) bool {
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusNotFound && he.Internal == nil
}
