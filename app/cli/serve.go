package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"lakehouse/app"
	"lakehouse/app/mcpserver"
	"lakehouse/config"
	"lakehouse/internal/fsx"
	"lakehouse/modules/kit"
	"lakehouse/web"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every module's HTTP routes on one port",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return Serve(ctx, l.Config, newLogger(l.Log, os.Stderr), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&g.listen, "listen", "", "listen address (default 127.0.0.1:3110)")
	f.StringVar(&g.modules, "modules", "", "comma-separated modules whose routes are exposed (default: all)")
	return cmd
}

// Serve runs the whole process until ctx is cancelled: checks the listen
// address against the auth config, initialises and starts the modules,
// serves HTTP, then drains and stops everything in reverse order. When
// ready is non-nil it receives the bound address once serving.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	if err := app.CheckListen(cfg.Listen, cfg.Auth); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if cfg.Auth.Token == "" && !cfg.Auth.Enabled() {
		log.Warn("auth disabled: no token configured (development mode, loopback only)")
	}
	fsx.ApplyModes(cfg.Storage.Modes())
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir, "serve")
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("serve: %w", err)}
	}
	defer lock.release() // deferred first: released after the modules stop
	exposed, err := ParseModules(cfg.Modules)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	c, err := Boot(ctx, cfg, log, exposed)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			log.Error("stop modules", "err", err)
		}
	}()
	srv, err := app.NewServer(c, exposed)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	// Tell `lakehouse mcp` on the same data dir where to find us.
	if err := lock.announce(dataDirOwner{PID: os.Getpid(), Mode: "serve", URL: "http://" + ln.Addr().String()}); err != nil {
		log.Warn("data dir lock: cannot record the server address", "err", err)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return srv.Serve(ctx, ln)
}

// Boot registers every module, initialises the ones the exposed set needs
// (with their dependencies) and starts them.
func Boot(ctx context.Context, cfg *config.Config, log *slog.Logger, exposed []string) (*kit.Container, error) {
	c := kit.NewContainer(cfg, log)
	kit.Provide[app.WebUI](c, web.New())
	kit.Provide[kit.Endpoint](c, mcpserver.HTTPEndpoint{Opts: mcpserver.Options{
		Version: app.Version, Log: log.With("component", "mcp-http"),
		Timeout: cfg.MCP.Timeout.D(), IndexTimeout: cfg.MCP.IndexTimeout.D(),
		MaxRows: cfg.MCP.MaxRows, MaxChars: cfg.MCP.MaxChars, SampleRows: cfg.MCP.SampleRows,
	}})
	if err := c.Register(AllModules()...); err != nil {
		return nil, err
	}
	plan, err := c.Plan(exposed)
	if err != nil {
		return nil, err
	}
	if err := c.Init(ctx, plan); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
