package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/config"
	"lakehouse/internal/client"
	"lakehouse/modules/pathway"
	"lakehouse/modules/storage"
)

func newPathwayCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pathway",
		Short: "Trace memory maintenance",
	}
	cmd.AddCommand(newPathwayCompactCmd(g))
	return cmd
}

func newPathwayCompactCmd(g *globalFlags) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the pathway log as one record per trace (atomic; state unchanged)",
		Long: "Compacts the pathway JSONL log: the log is rewritten to a temp file, fsynced and renamed over the old\n" +
			"one, so a crash leaves either the old or the new log, never half of one. When no server holds the log it is\n" +
			"compacted in this process; when a server runs on the data dir (the log is locked), the server is asked to\n" +
			"do it (POST /v1/pathway/compact on --server, token from auth.token or the env var auth.token_env names).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.loadConfig(cmd.ErrOrStderr())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			res, where, err := compactPathway(cmd.Context(), l.Config, server, cmd.Flags().Changed("server"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %s (%s): %d traces, %d -> %d bytes in %.1f ms\n",
				pathway.LogPath(l.Config), where, res.Traces, res.BeforeBytes, res.AfterBytes, res.DurationMs)
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server URL to ask when the log is locked (default: http://<listen> from the config)")
	return cmd
}

// compactPathway compacts offline, or through the running server when it
// holds the log.
func compactPathway(ctx context.Context, cfg *config.Config, server string, serverSet bool) (pathway.CompactResult, string, error) {
	path := pathway.LogPath(cfg)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := pathway.Options{Logger: quiet}
	if pathway.UsesBucket(cfg) {
		// The log lives in the bucket; the file is only a local copy.
		st, err := storage.Open(ctx, cfg.Storage, cfg.DataDir)
		if err != nil {
			return pathway.CompactResult{}, "", fmt.Errorf("pathway compact: open the bucket: %w", err)
		}
		opts.Remote = st
	} else if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return pathway.CompactResult{}, "", fmt.Errorf("pathway compact: no log at %s (check data_dir and [pathway] log)", path)
	}
	svc, err := pathway.OpenContext(ctx, path, opts)
	if err == nil {
		res, cerr := svc.Compact(ctx)
		if err := svc.Close(); cerr == nil {
			cerr = err
		}
		return res, "offline", cerr
	}
	if !errors.Is(err, pathway.ErrLocked) {
		return pathway.CompactResult{}, "", err
	}
	if !serverSet {
		server = "http://" + cfg.Listen
	}
	res, herr := compactViaServer(ctx, server, configToken(cfg))
	if herr != nil {
		return res, "", fmt.Errorf("%v; asking the server at %s failed too: %w", err, server, herr)
	}
	return res, "by the server at " + server, nil
}

func compactViaServer(ctx context.Context, server, token string) (pathway.CompactResult, error) {
	var res pathway.CompactResult
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	err := client.New(server, token, nil).Call(ctx, http.MethodPost, "/v1/pathway/compact", nil, &res)
	return res, err
}
