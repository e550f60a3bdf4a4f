package kit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"lakehouse/internal/jsonx"
)

// CodeMalformedJSON is the code of every 400 DecodeJSON answers for a body
// that is not one JSON object of the route's shape, on every route.
const CodeMalformedJSON = "malformed_json"

// DecodeOption changes how DecodeJSON reads one route's body.
type DecodeOption func(*decodeOpts)

type decodeOpts struct {
	strict    bool
	useNumber bool
	maxDepth  int
	depthKey  string
}

// Strict refuses fields the target type does not have (a 400 naming the
// field). Routes are lenient by default so older and newer clients keep
// working; a route whose typo would silently change its meaning opts in.
func Strict() DecodeOption { return func(o *decodeOpts) { o.strict = true } }

// UseNumber decodes numbers into interface values as json.Number, so
// free-form fields keep their exact text.
func UseNumber() DecodeOption { return func(o *decodeOpts) { o.useNumber = true } }

// MaxDepth refuses a body nesting objects and arrays deeper than limit
// (400 too_deep naming key, the setting that holds the limit) before
// anything decodes it, for bodies that are stored and decoded again later.
func MaxDepth(limit int, key string) DecodeOption {
	return func(o *decodeOpts) { o.maxDepth, o.depthKey = limit, key }
}

// DecodeJSON reads a request body that must be exactly one JSON object
// into v. Every failure is an error the renderer answers with: a body over
// the route's cap stays ErrBodyTooLarge (413) and a body the edge refused
// keeps its refusal; anything else is a 400 malformed_json whose message
// says what is wrong and, for syntax and type errors, whose details give
// the line and column (and the field).
func DecodeJSON(r io.Reader, v any, opts ...DecodeOption) error {
	var o decodeOpts
	for _, f := range opts {
		f(&o)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, ErrBodyTooLarge) || errors.Is(err, errBodyRefused) {
			return err
		}
		return BadRequest("read body: %v", err)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return malformed("empty body: a JSON object is required")
	}
	if trimmed[0] != '{' {
		line, col := lineCol(data, int64(len(data)-len(trimmed)))
		return malformed("the body must be a JSON object").WithDetails(map[string]any{"line": line, "column": col})
	}
	if o.maxDepth > 0 {
		if err := jsonx.CheckDepth(data, o.maxDepth); err != nil {
			return Errorf(http.StatusBadRequest, "too_deep", "request body %v; the limit is %s", err, o.depthKey).
				WithDetails(map[string]any{"max_depth": o.maxDepth})
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if o.useNumber {
		dec.UseNumber()
	}
	if o.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(data, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		line, col := lineCol(data, off+int64(len(data[off:])-len(bytes.TrimLeft(data[off:], " \t\r\n"))))
		return malformed("invalid JSON at line %d, column %d: data after the JSON object (send one object)", line, col).
			WithDetails(map[string]any{"line": line, "column": col})
	}
	return nil
}

func malformed(format string, args ...any) *APIError {
	return Errorf(http.StatusBadRequest, CodeMalformedJSON, format, args...)
}

// jsonError turns encoding/json's error into the 400 a client can act on.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte as read: point at it.
		line, col := lineCol(data, se.Offset-1)
		return malformed("invalid JSON at line %d, column %d: %v", line, col, err).
			WithDetails(map[string]any{"line": line, "column": col})
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return malformed("invalid JSON at line %d, column %d: field %q must be %s, not %s", line, col, te.Field, te.Type, te.Value).
			WithDetails(map[string]any{"line": line, "column": col, "field": te.Field})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(data, int64(len(data)))
		return malformed("invalid JSON at line %d, column %d: the body ends before the object does", line, col).
			WithDetails(map[string]any{"line": line, "column": col})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return malformed("unknown field %q (this route accepts only its documented fields)", field).
			WithDetails(map[string]any{"field": field})
	}
	var known StatusError
	if errors.As(err, &known) {
		return err // a type's UnmarshalJSON already said how to answer
	}
	return malformed("invalid JSON: %v", err)
}

// lineCol is the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
