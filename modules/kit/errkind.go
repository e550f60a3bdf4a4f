package kit

import (
	"errors"
	"fmt"
	"net/http"
)

// StatusError is the one interface through which an error says how the API
// answers it. Modules declare their failures as sentinels or types that
// implement it (NewKind); handlers return them, wrapped with context as
// usual, and the server's one renderer finds the status and code with
// errors.As. No module translates its errors to HTTP itself, so the same
// failure answers the same way on every route that meets it.
type StatusError interface {
	error
	// HTTPStatus is the response status.
	HTTPStatus() int
	// ErrorCode is the machine-readable "code" of the error body.
	ErrorCode() string
}

// ErrorDetailer is implemented by errors that add fields to the error
// body's "details" (a schema drift names its columns).
type ErrorDetailer interface{ ErrorDetails() map[string]any }

// ErrorHeaderer is implemented by errors that set response headers (a 503
// says when to retry).
type ErrorHeaderer interface{ ErrorHeader() http.Header }

// Kind is a sentinel error that carries its HTTP status and code. Wrap it
// with context (fmt.Errorf("%w: index %q", ErrIndexNotFound, name)); the
// client sees the whole wrapped message under the kind's status and code.
type Kind struct {
	status     int
	code, msg  string
	retryAfter int
}

// NewKind declares a sentinel error answered with status and code.
func NewKind(status int, code, msg string) *Kind {
	return &Kind{status: status, code: code, msg: msg}
}

// RetryAfter returns a copy of k whose answer carries Retry-After.
func (k *Kind) RetryAfter(seconds int) *Kind {
	c := *k
	c.retryAfter = seconds
	return &c
}

// Error implements error.
func (k *Kind) Error() string { return k.msg }

// HTTPStatus implements StatusError.
func (k *Kind) HTTPStatus() int { return k.status }

// ErrorCode implements StatusError.
func (k *Kind) ErrorCode() string { return k.code }

// ErrorHeader implements ErrorHeaderer (Retry-After when set).
func (k *Kind) ErrorHeader() http.Header {
	if k.retryAfter <= 0 {
		return nil
	}
	return http.Header{"Retry-After": []string{fmt.Sprint(k.retryAfter)}}
}

// HTTPStatus implements StatusError.
func (e *APIError) HTTPStatus() int { return e.Status }

// ErrorCode implements StatusError.
func (e *APIError) ErrorCode() string { return e.Code }

// fromStatusError renders a StatusError found in err's chain: its status
// and code, details and headers from anywhere in the chain. A sentinel
// Kind is only a label, so the message is the whole wrapped text (the
// context says what was not found); a typed error (a CSV error at a line,
// a schema drift) speaks for itself with its own message.
func fromStatusError(err error, se StatusError) *APIError {
	msg := se.Error()
	if _, sentinel := se.(*Kind); sentinel {
		msg = err.Error()
	}
	out := &APIError{Status: se.HTTPStatus(), Code: se.ErrorCode(), Message: msg, Details: map[string]any{}}
	var d ErrorDetailer
	if errors.As(err, &d) {
		for k, v := range d.ErrorDetails() {
			out.Details[k] = v
		}
	}
	var h ErrorHeaderer
	if errors.As(err, &h) {
		out.Header = h.ErrorHeader()
	}
	return out
}

// AsAPIError is the answer the server gives for err: what a handler
// returned, rendered the one way (a streaming route uses it for the error
// it writes as its last line). An error that carries no status is a 500.
func AsAPIError(err error) *APIError { return toAPIError(err) }

// WithDetails wraps err so its answer carries details in addition to any
// the wrapped error has (a storage key, a field name).
func WithDetails(err error, kv map[string]any) error {
	if err == nil {
		return nil
	}
	return &detailed{err: err, kv: kv}
}

type detailed struct {
	err error
	kv  map[string]any
}

func (d *detailed) Error() string { return d.err.Error() }
func (d *detailed) Unwrap() error { return d.err }

// ErrorDetails merges the wrapped error's details under d's own.
func (d *detailed) ErrorDetails() map[string]any {
	out := map[string]any{}
	var inner ErrorDetailer
	if errors.As(d.err, &inner) {
		for k, v := range inner.ErrorDetails() {
			out[k] = v
		}
	}
	for k, v := range d.kv {
		out[k] = v
	}
	return out
}
