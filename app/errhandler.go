package app

import (
	"errors"
	"lakehouse/modules/kit"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// errorHandler renders every error a handler returns in the one shape,
// through kit.Answer: a 500 never shows its cause (the body says
// "internal error" and the request id, the cause goes to the log under
// that id), and every message is scrubbed of the server's own paths
// (data dir, temp dir, working dir), whichever module produced it. A path
// that is a route for other methods answers 405.
func errorHandler(log *slog.Logger, scrub kit.PathScrubber) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if kit.AsAPIError(err).Status == http.StatusNotFound && isRouterNotFound(err) {
			if e405 := methodNotAllowed(c.Echo(), routesOf(c), c.Request()); e405 != nil {
				err = e405
			}
		}
		apiErr := kit.Answer(err, c.Response().Header().Get(echo.HeaderXRequestID), scrub, log, "path", c.Request().URL.Path)
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
