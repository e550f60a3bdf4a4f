// Package mcpserver is lakehouse's MCP server over stdio: it exposes the
// HTTP API of a running lakehouse to AI agents as tools (datasets, SQL,
// embeddings, vector search, trace memory). It is a client of the API, so
// the agent goes through the same auth gate, limits and audit as everyone.
package mcpserver

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure the MCP server.
type Options struct {
	// Server is the lakehouse base URL, e.g. http://127.0.0.1:3110.
	Server string
	// Token is the bearer token ("" when auth is off).
	Token string
	// Timeout bounds each tool's HTTP call (default 30s).
	Timeout time.Duration
	// Version is reported to clients.
	Version string
}

// New builds the MCP server with every lakehouse tool.
func New(opts Options) *mcp.Server {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	api := newAPIClient(opts.Server, opts.Token, opts.Timeout)
	s := mcp.NewServer(&mcp.Implementation{Name: "lakehouse", Version: opts.Version}, nil)
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true}

	mcp.AddTool(s, &mcp.Tool{Name: "list_datasets", Annotations: readOnly,
		Description: "List every dataset in the lakehouse catalog with its row count, version and schema fingerprint. Dataset names are SQL table names."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			return api.tool(ctx, "GET", "/v1/catalog/list", nil)
		})

	mcp.AddTool(s, &mcp.Tool{Name: "get_manifest", Annotations: readOnly,
		Description: "Get a dataset's manifest: its columns and types, files, row count and version."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			Name string `json:"name" jsonschema:"dataset name"`
		}) (*mcp.CallToolResult, any, error) {
			return api.tool(ctx, "GET", "/v1/catalog/manifest/"+url.PathEscape(in.Name), nil)
		})

	mcp.AddTool(s, &mcp.Tool{Name: "query_sql", Annotations: readOnly,
		Description: "Run one read-only SQL statement (DuckDB dialect) over the datasets; each dataset is a table named after it, older versions as \"name@N\". Answers columns and rows."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			SQL   string `json:"sql" jsonschema:"one SELECT/WITH/DESCRIBE/SUMMARIZE statement"`
			Limit int    `json:"limit,omitempty" jsonschema:"maximum rows to return (default 1000)"`
		}) (*mcp.CallToolResult, any, error) {
			if in.Limit <= 0 {
				in.Limit = 1000
			}
			return api.tool(ctx, "POST", "/v1/sql", map[string]any{"sql": in.SQL, "limit": in.Limit})
		})

	mcp.AddTool(s, &mcp.Tool{Name: "embed_text", Annotations: readOnly,
		Description: "Embed texts into vectors with the server's embedding model."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			Texts []string `json:"texts" jsonschema:"texts to embed"`
		}) (*mcp.CallToolResult, any, error) {
			return api.tool(ctx, "POST", "/v1/embed", map[string]any{"texts": in.Texts})
		})

	mcp.AddTool(s, &mcp.Tool{Name: "search_vectors", Annotations: readOnly,
		Description: "Semantic search in a vector index: give text (embedded by the server) or a vector, k, and an optional metadata filter such as {\"city\":\"Chicago\"} or {\"years\":{\"$gte\":5}}."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			Index  string         `json:"index" jsonschema:"vector index name"`
			Text   string         `json:"text,omitempty" jsonschema:"query text"`
			Vector []float32      `json:"vector,omitempty" jsonschema:"query vector (instead of text)"`
			K      int            `json:"k,omitempty" jsonschema:"number of results (default 10)"`
			Filter map[string]any `json:"filter,omitempty" jsonschema:"metadata filter"`
		}) (*mcp.CallToolResult, any, error) {
			if in.K <= 0 {
				in.K = 10
			}
			body := map[string]any{"k": in.K}
			if in.Text != "" {
				body["text"] = in.Text
			}
			if len(in.Vector) > 0 {
				body["vector"] = in.Vector
			}
			if len(in.Filter) > 0 {
				body["filter"] = in.Filter
			}
			return api.tool(ctx, "POST", "/v1/vectors/index/"+url.PathEscape(in.Index)+"/search", body)
		})

	mcp.AddTool(s, &mcp.Tool{Name: "remember",
		Description: "Store a trace in the pathway memory (what was tried and what worked). content is any JSON value; tags help later searches."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			Content any      `json:"content" jsonschema:"what to remember (any JSON)"`
			Tags    []string `json:"tags,omitempty" jsonschema:"tags for later search"`
		}) (*mcp.CallToolResult, any, error) {
			if in.Content == nil {
				return nil, nil, fmt.Errorf("content is required")
			}
			return api.tool(ctx, "POST", "/v1/pathway/add", map[string]any{"content": in.Content, "tags": in.Tags})
		})

	mcp.AddTool(s, &mcp.Tool{Name: "recall", Annotations: readOnly,
		Description: "Search the pathway memory for traces by text and tags (retired traces are never returned)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			Text  string   `json:"text,omitempty" jsonschema:"what to look for"`
			Tags  []string `json:"tags,omitempty" jsonschema:"only traces with all these tags"`
			Limit int      `json:"limit,omitempty" jsonschema:"maximum traces (default 10)"`
		}) (*mcp.CallToolResult, any, error) {
			if in.Limit <= 0 {
				in.Limit = 10
			}
			return api.tool(ctx, "POST", "/v1/pathway/search", map[string]any{"text": in.Text, "tags": in.Tags, "limit": in.Limit})
		})
	return s
}

// Run serves MCP over stdin/stdout until the client disconnects or ctx ends.
func Run(ctx context.Context, opts Options) error {
	if err := New(opts).Run(ctx, &mcp.StdioTransport{}); err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	return nil
}
