package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/internal/demo"
	"lakehouse/modules/catalog"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Demo data for trying lakehouse: `lakehouse demo seed`",
	}
	var server string
	var scale float64
	var force bool
	seed := &cobra.Command{
		Use:   "seed [--server URL | --data-dir DIR] [--scale F]",
		Short: "Load the staffing demo (7 related tables, a candidates vector index, example queries)",
		Long: "Generates the staffing reference set deterministically — candidates (100 000 at scale 1), clients,\n" +
			"job_orders, placements, timesheets, call_log and email_log, about 286 000 rows — ingests it through the\n" +
			"HTTP API, builds the `candidates` vector index from the summaries and saves example queries.\n" +
			"Re-running changes nothing. By default it talks to the server at the configured listen address;\n" +
			"--data-dir seeds a data directory in-process instead (no server may be running on it).",
		Example: "  lakehouse demo seed\n  lakehouse demo seed --scale 0.1\n  lakehouse demo seed --data-dir ./data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			// The embedding's progress, with rows/s and an ETA: a bar on a
			// terminal, a line every few seconds elsewhere.
			bar := newProgress(cmd.ErrOrStderr(), "embedding candidates")
			opts := demo.Options{Scale: scale, Force: force, Log: cmd.OutOrStdout(),
				Progress: func(done, total int64) { bar.update(done, total, count, nil, "rows", "") }}
			ctx := cmd.Context()
			var rep demo.Report
			if server == "" && g.dataDir != "" {
				rep, err = seedInProcess(ctx, l.Config, opts)
			} else {
				if server == "" {
					server = "http://" + l.Listen
				}
				fmt.Fprintf(cmd.OutOrStdout(), "seeding %s (scale %g)\n", server, scale)
				rep, err = demo.Seed(ctx, demo.Client{URL: server, Token: configToken(l.Config), HTTP: &http.Client{}}, opts)
				if err != nil && isConnRefused(err) {
					err = fmt.Errorf("%w\n  no lakehouse answers at %s: start one with `make run` (or `lakehouse serve`), "+
						"or seed a data dir directly with --data-dir", err, server)
				}
			}
			bar.done()
			if err != nil {
				if errors.Is(err, demo.ErrForeignDataset) {
					return &ExitError{Code: 1, Err: err}
				}
				return err
			}
			if !rep.Changed {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing changed: the demo data is already loaded")
				return nil
			}
			open := server
			if open == "" {
				open = "http://" + l.Listen
				fmt.Fprintf(cmd.OutOrStdout(), "done. Start the server on it (lakehouse serve --data-dir %s), then ", g.dataDir)
			} else {
				fmt.Fprint(cmd.OutOrStdout(), "done. ")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "open %s/ and run the SQL console's saved query %q, or search candidates for \"forklift driver OSHA-30\".\n",
				strings.TrimRight(open, "/"), demo.ExampleQueries[0].Name)
			return nil
		},
	}
	f := seed.Flags()
	f.StringVar(&server, "server", "", "URL of a running lakehouse (default: http://<listen> from the config)")
	f.Float64Var(&scale, "scale", 1, "size: 1 = 100 000 candidates (~286 000 rows); 0.1 for a quick try")
	f.BoolVar(&force, "force", false, "replace same-named datasets that the demo did not create")
	cmd.AddCommand(seed)
	return cmd
}

func isConnRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection refused")
}

// seedInProcess serves the data dir on a loopback port for the duration
// of the seed, so the data still takes the ordinary HTTP path (versions,
// audit rows, the same limits) without a separate server.
func seedInProcess(ctx context.Context, base *config.Config, opts demo.Options) (demo.Report, error) {
	cfg := *base
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(config.LogConfig{Level: "error", Format: "text"}, os.Stderr) // a private, loopback-only server: its dev-mode warning is noise here
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, &cfg, log, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		if errors.Is(err, catalog.ErrLocked) {
			return demo.Report{}, fmt.Errorf("%w\n  a running lakehouse holds %s; seed it with --server instead", err, cfg.DataDir)
		}
		return demo.Report{}, err
	}
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "seeding %s in-process (scale %g)\n", cfg.DataDir, opts.Scale)
	}
	rep, err := demo.Seed(ctx, demo.Client{URL: "http://" + addr, Token: cfg.Auth.Token, HTTP: &http.Client{}}, opts)
	cancel()
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	return rep, err
}
