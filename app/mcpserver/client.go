package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxResponseBytes caps what one tool call reads from the server.
const MaxResponseBytes = 16 << 20

// apiClient calls a lakehouse server's HTTP API with the bearer token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(base, token string, timeout time.Duration) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: timeout}}
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

// tool proxies one tool call to the API and hands the decoded answer to
// the MCP SDK, which turns an error into an IsError result.
func (c *apiClient) tool(ctx context.Context, method, path string, body any) (*mcp.CallToolResult, any, error) {
	var out any
	err := c.call(ctx, method, path, body, &out)
	return nil, out, err
}

// call sends body (JSON-encoded when non-nil) and decodes a 2xx answer
// into out.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("lakehouse at %s unreachable: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("answer exceeds %d bytes; narrow the request (e.g. a LIMIT)", MaxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
