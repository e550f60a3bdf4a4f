package kit

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// APIError is the one error shape every route answers with:
// {"error":{"code","message","details"}} and an HTTP status.
type APIError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	// Header is set on the response (e.g. Retry-After).
	Header http.Header `json:"-"`
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// WithDetails returns e with details added.
func (e *APIError) WithDetails(kv map[string]any) *APIError {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	for k, v := range kv {
		e.Details[k] = v
	}
	return e
}

// Errorf builds an APIError with a formatted message.
func Errorf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Details: map[string]any{}}
}

// BadRequest is a 400 with code "bad_request" unless code is given.
func BadRequest(format string, args ...any) *APIError {
	return Errorf(http.StatusBadRequest, "bad_request", format, args...)
}

// NotFound is a 404.
func NotFound(format string, args ...any) *APIError {
	return Errorf(http.StatusNotFound, "not_found", format, args...)
}

// Conflict is a 409.
func Conflict(code, format string, args ...any) *APIError {
	return Errorf(http.StatusConflict, code, format, args...)
}

// TooLarge is a 413.
func TooLarge(format string, args ...any) *APIError {
	return Errorf(http.StatusRequestEntityTooLarge, "too_large", format, args...)
}

// Unavailable is a 503 with Retry-After.
func Unavailable(retryAfterSeconds int, format string, args ...any) *APIError {
	e := Errorf(http.StatusServiceUnavailable, "overloaded", format, args...)
	e.Header = http.Header{"Retry-After": []string{fmt.Sprint(retryAfterSeconds)}}
	return e
}

// InternalError is what a client sees of an unexpected failure: nothing of
// the cause, only the id to quote when asking an operator to read the log.
func InternalError(reqID string) *APIError {
	e := Errorf(http.StatusInternalServerError, "internal", "internal error (request id %s)", reqID)
	if reqID == "" {
		e.Message = "internal error"
	}
	e.Details["request_id"] = reqID
	return e
}

func toAPIError(err error) *APIError {
	if errors.Is(err, ErrBodyTooLarge) {
		return TooLarge("request body exceeds this route's size limit")
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Details == nil {
			apiErr.Details = map[string]any{}
		}
		return apiErr
	}
	var se StatusError
	if errors.As(err, &se) {
		return fromStatusError(err, se)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprint(he.Message)
		if he.Internal != nil && he.Code < 500 {
			msg = fmt.Sprintf("%s: %v", msg, he.Internal)
		}
		return &APIError{Status: he.Code, Code: codeFor(he.Code), Message: msg, Details: map[string]any{}}
	}
	return &APIError{Status: 500, Code: "internal", Message: "internal error", Details: map[string]any{}}
}

func codeFor(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 405:
		return "method_not_allowed"
	case 409:
		return "conflict"
	case 413:
		return "too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "unprocessable"
	case 429:
		return "too_many_requests"
	case 503:
		return "unavailable"
	case 504:
		return "timeout"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}
