package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/app"
	"lakehouse/app/mcpserver"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/pathway"
)

// mcpFlags are `lakehouse mcp`'s own flags.
type mcpFlags struct {
	server    string
	inProcess bool
	timeout   time.Duration
	maxRows   int
	maxChars  int
	as        string
}

func newMCPCmd(g *globalFlags) *cobra.Command {
	var f mcpFlags
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve MCP over stdio: lakehouse's datasets, SQL, vectors and memory as tools for AI agents",
		Long: "Runs an MCP server on stdin/stdout (logs go to stderr).\n\n" +
			"In-process mode (the default when no server holds the data dir): opens --data-dir itself and runs the\n" +
			"modules in this process, without an HTTP listener; tool calls still go through the same API routes,\n" +
			"auth, limits and audit. It owns the data dir while it runs, like `serve`.\n\n" +
			"Server mode: when a `lakehouse serve` holds the data dir, or with --server URL, tool calls go to that\n" +
			"server's HTTP API with the token from auth.token or the env var auth.token_env names (AUTH_TOKEN).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.applyTo(&l.Config.MCP)
			return runMCP(ctx, l.Config, f, cmd.Flags().Changed("server"), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "use the lakehouse server at this URL (server mode) instead of opening the data dir")
	fl.BoolVar(&f.inProcess, "in-process", false, "require in-process mode: fail instead of falling back to a server holding the data dir")
	fl.DurationVar(&f.timeout, "timeout", 0, "per-call timeout (default: mcp.timeout, 30s)")
	fl.IntVar(&f.maxRows, "max-rows", 0, "row cap of one answer (default: mcp.max_rows, 1024)")
	fl.IntVar(&f.maxChars, "max-chars", 0, "character cap of one answer (default: mcp.max_chars, 50000)")
	fl.StringVar(&f.as, "as", "", "in-process mode: act as this [[auth.principals]] name (its role and grants; tools it may not call are not listed)")
	return cmd
}

// applyTo lets flags win over the config file.
func (f mcpFlags) applyTo(c *config.MCPConfig) {
	if f.timeout > 0 {
		c.Timeout = config.Duration(f.timeout)
	}
	if f.maxRows > 0 {
		c.MaxRows = f.maxRows
	}
	if f.maxChars > 0 {
		c.MaxChars = f.maxChars
	}
}

// runMCP picks the mode, says which on stderr (stdout is the MCP
// transport), and serves until the client hangs up.
func runMCP(ctx context.Context, cfg *config.Config, f mcpFlags, serverSet bool, stderr io.Writer) error {
	log := newLogger(cfg.Log, stderrFile(stderr))
	opts := mcpserver.Options{
		Token: configToken(cfg), Version: app.Version, Log: log.With("component", "mcp"),
		Timeout: cfg.MCP.Timeout.D(), IndexTimeout: cfg.MCP.IndexTimeout.D(),
		MaxRows: cfg.MCP.MaxRows, MaxChars: cfg.MCP.MaxChars,
		SampleRows: cfg.MCP.SampleRows, PollInterval: cfg.MCP.PollInterval.D(),
	}
	if serverSet {
		if f.inProcess {
			return &ExitError{Code: 2, Err: errors.New("mcp: --server and --in-process exclude each other")}
		}
		if f.as != "" {
			return &ExitError{Code: 2, Err: errors.New("mcp: --as works in-process only; against a server, the token names the principal")}
		}
		opts.Mode, opts.Server = mcpserver.ModeServer, f.server
		log.Info("mcp: server mode (--server)", "server", f.server)
		return mcpserver.Run(ctx, opts)
	}
	if f.as != "" && !hasPrincipal(cfg.Auth, f.as) {
		return &ExitError{Code: 2, Err: fmt.Errorf("mcp: --as %q: no such principal in [[auth.principals]] (or %q, auth.token's)", f.as, kit.AdminName)}
	}
	stopInProcess, why, err := openInProcess(ctx, cfg, log, &opts, f.as)
	if err != nil {
		return err
	}
	if stopInProcess != nil {
		defer stopInProcess()
		log.Info("mcp: in-process mode", "data_dir", cfg.DataDir)
		return mcpserver.Run(ctx, opts)
	}
	if f.inProcess || f.as != "" {
		return &ExitError{Code: 1, Err: fmt.Errorf("mcp: in-process mode impossible: %v", why)}
	}
	opts.Mode = mcpserver.ModeServer
	if opts.Server == "" {
		opts.Server = "http://" + cfg.Listen
	}
	log.Info("mcp: server mode (the data dir is held by another process)", "server", opts.Server, "reason", why)
	return mcpserver.Run(ctx, opts)
}

// openInProcess takes the data dir and boots the modules in this process,
// without a listener: the API's echo handler serves the tool calls through
// an in-memory transport. When another process holds the data dir it
// returns a nil stop, the reason, and the server URL that process
// announced (in opts.Server, when known).
//
// as, when set, names the configured principal every call acts for.
func openInProcess(ctx context.Context, cfg *config.Config, log *slog.Logger, opts *mcpserver.Options, as string) (stop func(), why error, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir, "mcp")
	if errors.Is(err, errDataDirLocked) {
		if o, rerr := readDataDirOwner(cfg.DataDir); rerr == nil && o.URL != "" {
			opts.Server = o.URL
		}
		return nil, err, nil
	}
	if err != nil {
		return nil, nil, err
	}
	exposed, err := ParseModules(cfg.Modules)
	if err != nil {
		lock.release()
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	c, err := Boot(ctx, cfg, log, exposed)
	if err != nil {
		lock.release()
		// A process that predates the data dir lock (or an offline
		// command) holds the metadata database or the pathway log.
		if errors.Is(err, catalog.ErrLocked) || errors.Is(err, pathway.ErrLocked) {
			return nil, err, nil
		}
		return nil, nil, err
	}
	srv, err := app.NewServer(c, exposed)
	if err != nil {
		_ = c.Stop(context.Background())
		lock.release()
		return nil, nil, err
	}
	opts.Mode = mcpserver.ModeInProcess
	opts.Server = "http://localhost" // the transport ignores it; the loopback Host passes dev-mode checks
	var rt http.RoundTripper = mcpserver.HandlerTransport(srv.Echo)
	if as != "" {
		rt = mcpserver.AsPrincipalTransport(as, rt)
	}
	opts.HTTP = &http.Client{Transport: rt}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			log.Error("mcp: stop modules", "err", err)
		}
		srv.Close()
		lock.release()
	}, nil, nil
}

// stderrFile is the *os.File behind w when there is one (for the logger's
// terminal detection), else os.Stderr.
func stderrFile(w io.Writer) *os.File {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return os.Stderr
}

// hasPrincipal reports whether the auth section defines the principal name.
func hasPrincipal(a config.AuthConfig, name string) bool {
	if name == kit.AdminName && a.Token != "" {
		return true
	}
	for _, p := range a.Principals {
		if p.Name == name {
			return true
		}
	}
	return false
}
