package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

type drift struct{ cols []string }

func (d *drift) Error() string                { return "schema drift: added " + fmt.Sprint(d.cols) }
func (d *drift) HTTPStatus() int              { return http.StatusConflict }
func (d *drift) ErrorCode() string            { return "schema_drift" }
func (d *drift) ErrorDetails() map[string]any { return map[string]any{"added": d.cols} }

// TestStatusErrorsRender: the one renderer answers every error that
// carries its status, however deeply wrapped, and an error that carries
// none is a generic 500 whose text stays in the log.
func TestStatusErrorsRender(t *testing.T) {
	errMissing := kit.NewKind(http.StatusNotFound, "not_found", "thing not found")
	errClosed := kit.NewKind(http.StatusServiceUnavailable, "overloaded", "closed").RetryAfter(30)
	cases := []struct {
		name     string
		err      error
		status   int
		code     string
		msg      string
		detail   string
		retryHdr string
	}{
		{"kind", fmt.Errorf("get: %w: %q", errMissing, "x"), 404, "not_found", `get: thing not found: "x"`, "", ""},
		{"typed", fmt.Errorf("register: %w", &drift{cols: []string{"a"}}), 409, "schema_drift", "schema drift: added [a]", "added", ""},
		{"details", kit.WithDetails(fmt.Errorf("%w: k", errMissing), map[string]any{"key": "k"}), 404, "not_found", "thing not found: k", "key", ""},
		{"retry", fmt.Errorf("add: %w", errClosed), 503, "overloaded", "add: closed", "", "30"},
		{"api error wins", fmt.Errorf("x: %w", kit.BadRequest("bad %s", "thing")), 400, "bad_request", "bad thing", "", ""},
		{"unmapped", errors.New("disk on fire at /secret/path"), 500, "internal", "internal error (request id rid)", "request_id", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = errorHandler(nil, kit.PathScrubber{})
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/x", nil), rec)
			c.Response().Header().Set(echo.HeaderXRequestID, "rid")
			e.HTTPErrorHandler(tc.err, c)
			var body struct{ Error kit.APIError }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || body.Error.Code != tc.code || body.Error.Message != tc.msg {
				t.Fatalf("got %d %s %q, want %d %s %q", rec.Code, body.Error.Code, body.Error.Message, tc.status, tc.code, tc.msg)
			}
			if _, ok := body.Error.Details[tc.detail]; tc.detail != "" && !ok {
				t.Fatalf("details %v lack %q", body.Error.Details, tc.detail)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryHdr {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryHdr)
			}
		})
	}
}
