// Package client is the one Go client of the lakehouse HTTP API: the CLI's
// --server commands, `lakehouse mcp`, the demo seeder and the tests'
// in-process server (app/apptest) all call the routes through it, so the
// token, the JSON encoding, the answer cap and the error shape are handled
// in one place.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxAnswerBytes caps what one call reads from an answer unless the
// Client says otherwise.
const DefaultMaxAnswerBytes = 16 << 20

// Client calls one lakehouse server. Its zero value is not usable; build
// it with New.
type Client struct {
	// Base is the server's URL without a trailing slash
	// (http://127.0.0.1:3110).
	Base string
	// Token is sent as "Authorization: Bearer <token>" when not empty.
	Token string
	// HTTP does the requests (a network client, or one whose Transport
	// runs the server in memory).
	HTTP *http.Client
	// MaxAnswerBytes caps what Call and Stream read (default
	// DefaultMaxAnswerBytes); a larger answer is ErrTooLarge.
	MaxAnswerBytes int64
}

// New returns a client of the server at base; hc nil means a plain
// http.Client.
func New(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: hc}
}

// Error is a non-2xx answer, decoded from the API's one error shape
// {"error":{"code","message","details"}} when the body has it.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("lakehouse answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("lakehouse answered %d: %s", e.Status, e.Message)
}

// IsStatus reports whether err is (or wraps) an answer with status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// ErrUnreachable is matched (errors.Is) by a call that got no answer:
// nothing listens there, or the connection broke.
var ErrUnreachable = errors.New("unreachable")

// ErrTooLarge is returned for an answer above MaxAnswerBytes.
var ErrTooLarge = errors.New("answer too large")

// Request is one call. Body, when not nil, is sent as it is with
// ContentType; otherwise JSON, when not nil, is encoded as the body with
// Content-Type application/json.
type Request struct {
	Method, Path string
	JSON         any
	Body         io.Reader
	ContentType  string
	// ContentLength is Body's length when known (-1 or 0: unknown).
	ContentLength int64
	// Accept asks for a representation (application/x-ndjson).
	Accept string
	// Header adds headers; one set here replaces the client's (an empty
	// "Authorization" value removes the token).
	Header http.Header
}

// Do sends r and returns a 2xx response with its body open for the caller
// to read and close; any other status is an *Error (its body read and
// closed), and a transport failure says the server is unreachable.
func (c *Client) Do(ctx context.Context, r Request) (*http.Response, error) {
	resp, err := c.Send(ctx, r)
	if err != nil || resp.StatusCode/100 == 2 {
		return resp, err
	}
	defer resp.Body.Close()
	data, err := c.readCapped(resp.Body)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return nil, err
	}
	return nil, decodeError(resp.StatusCode, data)
}

// Send sends r and returns the response whatever its status, body open
// (tests that check error answers); a transport failure is
// ErrUnreachable.
func (c *Client) Send(ctx context.Context, r Request) (*http.Response, error) {
	body, ctype := r.Body, r.ContentType
	if body == nil && r.JSON != nil {
		data, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		// The API refuses a JSON route's body without this type (415).
		body, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.Base+r.Path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if r.ContentLength > 0 {
		req.ContentLength = r.ContentLength
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			if v != "" {
				req.Header.Add(k, v)
			}
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("lakehouse at %s %w: %w", c.Base, ErrUnreachable, err)
	}
	return resp, nil
}

// ErrorBody is the API's one error shape:
// {"error":{"code","message","details"}}.
type ErrorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func decodeError(status int, data []byte) *Error {
	var e ErrorBody
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return &Error{Status: status, Code: e.Error.Code, Message: e.Error.Message, Details: e.Error.Details}
	}
	return &Error{Status: status, Message: strings.TrimSpace(string(data))}
}

// Call sends body (JSON-encoded when not nil) and decodes a 2xx answer
// into out (nil: discard). Numbers decoded into interface values stay
// json.Number, so big integers keep their digits.
func (c *Client) Call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.Do(ctx, Request{Method: method, Path: path, JSON: body})
	if err != nil {
		return err
	}
	return c.Decode(resp, out)
}

// Decode reads a response Do returned (capped) into out and closes it.
func (c *Client) Decode(resp *http.Response, out any) error {
	defer resp.Body.Close()
	data, err := c.readCapped(resp.Body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// Stream sends body asking for NDJSON and hands every line to line, in
// order, as the server flushes it; line's error stops the stream. An
// answer that is not NDJSON (an older server) is handed over as one line.
func (c *Client) Stream(ctx context.Context, method, path string, body any, line func([]byte) error) error {
	resp, err := c.Do(ctx, Request{Method: method, Path: path, JSON: body, Accept: "application/x-ndjson"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		data, err := c.readCapped(resp.Body)
		if err != nil {
			return err
		}
		return line(data)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), int(c.maxAnswer()))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := line(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return nil
}

func (c *Client) maxAnswer() int64 {
	if c.MaxAnswerBytes > 0 {
		return c.MaxAnswerBytes
	}
	return DefaultMaxAnswerBytes
}

func (c *Client) readCapped(r io.Reader) ([]byte, error) {
	limit := c.maxAnswer()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("%w: more than %d bytes; narrow the request (a LIMIT, fewer columns, a smaller k)", ErrTooLarge, limit)
	}
	return data, nil
}
