package smoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// Binary is the built lakehouse binary the suite runs, from LAKEHOUSE_BIN;
// without it the test is skipped: the suite checks the shipped artifact,
// and building a static binary inside `go test` would take minutes on
// every run where `make smoke` builds it once (and reuses it when warm).
func Binary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("LAKEHOUSE_BIN")
	if p == "" {
		t.Skip("LAKEHOUSE_BIN is not set: the smoke suite runs against the built binary (`make smoke` builds bin/lakehouse and sets it)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("LAKEHOUSE_BIN=%s: %v (run `make build`)", p, err)
	}
	return p
}

// Client is a test's view of one server: its base URL, the bearer token it
// sends, and where to find the server's log when a check fails.
type Client struct {
	URL   string
	Token string
	// Log, when set, returns the server's recent output for failure messages.
	Log  func() string
	HTTP *http.Client
}

// Raw is a request body sent as is, with its media type.
type Raw struct {
	Type string
	Data []byte
}

// Response is a whole answer: status, headers and body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request; body is nil, Raw, or any value sent as JSON.
func (c *Client) Do(method, path string, body any) (*Response, error) {
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case Raw:
		r, ctype = bytes.NewReader(b.Data), b.Type
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.URL+path, r)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Call sends one request and fails the test unless the answer has status
// want; out, when non-nil, receives the JSON body.
func (c *Client) Call(t testing.TB, method, path string, body any, want int, out any) *Response {
	t.Helper()
	resp, err := c.Do(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v%s", method, path, err, c.logTail())
	}
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s%s", method, path, resp.Status, want, clip(resp.Body), c.logTail())
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v in %s", method, path, out, err, clip(resp.Body))
		}
	}
	return resp
}

// Error is the one error shape every route answers with.
type Error struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// Fail sends one request that must fail with status want and the error
// shape, with error code code (any non-empty code when code is ""); it
// returns the decoded error.
func (c *Client) Fail(t testing.TB, method, path string, body any, want int, code string) Error {
	t.Helper()
	var e Error
	c.Call(t, method, path, body, want, &e)
	if e.Error.Message == "" || e.Error.Code == "" || (code != "" && e.Error.Code != code) {
		t.Fatalf("%s %s: error %+v, want code %q and a message", method, path, e.Error, code)
	}
	return e
}

// SQL runs one statement through POST /v1/sql and returns its rows, numbers
// as json.Number (fmt.Sprint(rows) reads like the table).
func (c *Client) SQL(t testing.TB, sql string) [][]any {
	t.Helper()
	var res struct {
		Rows     [][]any `json:"rows"`
		RowCount int     `json:"row_count"`
	}
	body := c.Call(t, "POST", "/v1/sql", map[string]any{"sql": sql}, 200, nil).Body
	// Numbers stay as written, so a BIGINT compares exactly.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("SQL %q: %v in %s", sql, err, clip(body))
	}
	if res.RowCount != len(res.Rows) {
		t.Fatalf("SQL %q: row_count %d but %d rows", sql, res.RowCount, len(res.Rows))
	}
	return res.Rows
}

// WaitHealthy polls GET /health until it answers 200 or limit passes.
func (c *Client) WaitHealthy(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Do("GET", "/health", nil)
		if err == nil && resp.Status == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d: %s", resp.Status, clip(resp.Body))
			}
			return fmt.Errorf("%s/health not answering after %s: %w", c.URL, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Client) logTail() string {
	if c.Log == nil {
		return ""
	}
	return "\nserver log:\n" + c.Log()
}

// clip keeps failure messages readable when a body is large.
func clip(b []byte) string {
	const n = 2000
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
