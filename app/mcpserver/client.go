package mcpserver

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

// MaxResponseBytes caps what one API call reads, before the tool's own
// row and character caps trim the answer for the agent.
const MaxResponseBytes = 16 << 20

// apiClient calls the lakehouse HTTP API with the bearer token, over the
// network (server mode) or through HandlerTransport (in-process mode):
// every tool goes through the same routes either way.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(base, token string, hc *http.Client) *apiClient {
	if hc == nil {
		hc = &http.Client{}
	}
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: hc}
}

// apiError is a non-2xx answer; tools turn it into an IsError result so the
// agent sees the server's message and can correct itself.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("lakehouse answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("lakehouse answered %d: %s", e.Status, e.Message)
}

// call sends body (JSON-encoded when non-nil) and decodes a 2xx answer
// into out (nil: discard).
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // big integers (ids, counts) keep their digits
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// stream sends body asking for NDJSON and hands every line to line, in
// order, as the server flushes it; the last line is returned too.
func (c *apiClient) stream(ctx context.Context, method, path string, body any, line func(map[string]any)) error {
	resp, err := c.do(ctx, method, path, body, "application/x-ndjson")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		// A non-streaming answer (an older server): one JSON object.
		data, err := readCapped(resp.Body)
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		line(obj)
		return nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), MaxResponseBytes)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("decode progress line: %w", err)
		}
		line(obj)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return nil
}

// do sends the request and turns a non-2xx answer into *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		// The API refuses JSON routes' bodies without this (415).
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("lakehouse at %s unreachable: %w", c.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body)
	if err != nil {
		return nil, err
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return nil, &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return nil, &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
}

// errTooLarge: an answer above MaxResponseBytes.
var errTooLarge = errors.New("answer too large")

func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: more than %d bytes; narrow the request (a LIMIT, fewer columns, a smaller k)", errTooLarge, MaxResponseBytes)
	}
	return data, nil
}
