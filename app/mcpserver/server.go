// Package mcpserver is lakehouse's MCP server over stdio: it exposes the
// lakehouse HTTP API to AI agents as tools (datasets, SQL, embeddings,
// vector search and indexing, trace memory, observer events), the datasets
// as resources, and prompts that show how to use them. Every tool call goes
// through the API's routes — over the network to a running server, or
// in-process through HandlerTransport — so the agent passes the same auth
// gate, validation, limits and audit as every other caller.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/internal/client"
	"lakehouse/modules/kit"
)

// Modes an MCP server reports (logs, observer events).
const (
	ModeServer    = "server"
	ModeInProcess = "in-process"
)

// Options configure the MCP server.
type Options struct {
	// Server is the lakehouse base URL, e.g. http://127.0.0.1:3110
	// (in-process mode: any loopback URL, the transport ignores the host).
	Server string
	// HTTP carries the API calls; nil means a plain client (server mode).
	// In-process mode passes one whose Transport is HandlerTransport.
	HTTP *http.Client
	// Mode is ModeServer or ModeInProcess (reported, not acted on).
	Mode string
	// Token is the bearer token ("" when auth is off).
	Token string
	// Role is the caller's role: tools it could not call are not listed.
	// 0 = every tool (Run asks the server with GET /v1/session).
	Role kit.Role
	// Timeout bounds each tool call (default 30s).
	Timeout time.Duration
	// IndexTimeout bounds index_dataset, which embeds a whole dataset
	// (default 10m).
	IndexTimeout time.Duration
	// MaxRows caps the items of any list in an answer (default 1024).
	MaxRows int
	// MaxChars caps an answer's JSON text (default 50 000).
	MaxChars int
	// SampleRows is how many rows dataset resources and describe_dataset
	// show by default (default 5).
	SampleRows int
	// PollInterval is how often the catalog is polled for dataset changes
	// (resources/list_changed); default 2s.
	PollInterval time.Duration
	// Heartbeat is how often a call with a progress token that has no
	// progress of its own reports that it is still running (default 1s).
	Heartbeat time.Duration
	// Version is reported to clients.
	Version string
	// Log receives the server's own log lines (stderr: stdout is the
	// transport). Nil discards them.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.IndexTimeout <= 0 {
		o.IndexTimeout = 10 * time.Minute
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 1024
	}
	if o.MaxChars <= 0 {
		o.MaxChars = 50_000
	}
	if o.SampleRows <= 0 {
		o.SampleRows = 5
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.Mode == "" {
		o.Mode = ModeServer
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Server is an MCP server bound to one lakehouse.
type Server struct {
	mcp   *mcp.Server
	h     *handler
	watch *catalogWatch
}

// handler holds what every tool, resource and prompt shares.
type handler struct {
	api  *client.Client
	opts Options
	log  *slog.Logger
}

// instructions tell the agent, at initialize, how the pieces fit.
const instructions = "lakehouse is a versioned data lakehouse. Start with list_datasets (or the lakehouse://dataset/... " +
	"resources), then describe_dataset for columns, sample rows and the values of low-cardinality columns. " +
	"Answer questions with query_sql (DuckDB SQL, one table per dataset, older versions as \"name@N\"), and " +
	"semantic questions with search_vectors over an index (list_vector_indexes; build one with index_dataset). " +
	"Cite the id column of the rows you rely on. Store what worked with remember and look it up with recall. " +
	"Answers are capped (rows and characters): when truncated is true, follow the hint to narrow the request."

// New builds the MCP server with every tool, resource and prompt.
func New(opts Options) *Server {
	opts.defaults()
	h := &handler{api: client.New(opts.Server, opts.Token, opts.HTTP), opts: opts, log: opts.Log}
	s := mcp.NewServer(&mcp.Implementation{Name: "lakehouse", Title: "lakehouse", Version: opts.Version},
		&mcp.ServerOptions{Instructions: instructions, Logger: opts.Log})
	h.addDataTools(s)
	h.addSavedQueryTools(s)
	h.addVectorTools(s)
	h.addMemoryTools(s)
	h.addPrompts(s)
	return &Server{mcp: s, h: h, watch: h.addResources(s)}
}

// MCP returns the underlying SDK server (for in-memory transports in tests).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Run serves one session on t until the client disconnects or ctx ends,
// keeping the dataset resources in step with the catalog meanwhile.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.watch.sync(ctx); err != nil {
		s.h.log.Warn("mcp: dataset resources not loaded yet", "err", err)
	}
	go s.watch.loop(ctx, s.h.opts.PollInterval)
	if err := s.mcp.Run(ctx, t); err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	return nil
}

// Run serves MCP over stdin/stdout until the client disconnects or ctx
// ends, listing only the tools the caller's role may use.
func Run(ctx context.Context, opts Options) error {
	if opts.Role == 0 {
		role, err := whoami(ctx, opts)
		if err != nil {
			return err
		}
		opts.Role = role
	}
	return New(opts).Run(ctx, &mcp.StdioTransport{})
}

// whoami asks the server which role the credentials carry.
func whoami(ctx context.Context, opts Options) (kit.Role, error) {
	api := client.New(opts.Server, opts.Token, opts.HTTP)
	var ans struct {
		Authenticated bool   `json:"authenticated"`
		Principal     string `json:"principal"`
		Role          string `json:"role"`
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := api.Call(ctx, http.MethodGet, "/v1/session", nil, &ans); err != nil {
		return 0, fmt.Errorf("mcp: who am I (GET /v1/session): %w", err)
	}
	if !ans.Authenticated {
		return 0, errors.New("mcp: the server refused the credentials (check auth.token or the env var auth.token_env names; in-process, `--as NAME` acts as a configured principal)")
	}
	role, err := kit.ParseRole(ans.Role)
	if err != nil {
		return kit.RoleAdmin, nil // a server from before roles: every tool, as before
	}
	return role, nil
}
