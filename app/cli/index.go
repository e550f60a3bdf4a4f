package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"lakehouse/internal/client"
	"lakehouse/modules/indexer"
)

func newIndexCmd(g *globalFlags) *cobra.Command {
	var server, dataset, id string
	var text, meta []string
	var batch int
	var quiet, follow bool
	cmd := &cobra.Command{
		Use:   "index NAME --dataset DATASET --id COLUMN --text COL[,COL] [--meta COL[,COL]]",
		Short: "Embed a dataset's text columns into the vector index NAME (only new or changed rows on re-runs)",
		Long: "Asks a running lakehouse (--server) to embed every row of DATASET with the configured embedder and add it\n" +
			"to the vector index NAME (created when missing), with --meta columns as filterable metadata. A progress bar\n" +
			"is drawn on stderr; the summary is printed on stdout. The token is auth.token or the env var auth.token_env names.",
		Example: "  lakehouse index candidates-text --dataset candidates --id candidate_id --text skills,summary --meta city,status",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token := os.Getenv("AUTH_TOKEN")
			if l, err := g.loadConfig(cmd.ErrOrStderr()); err == nil {
				token = configToken(l.Config)
				if server == "" && l.Listen != "" {
					server = "http://" + l.Listen
				}
			}
			if server == "" {
				server = "http://127.0.0.1:3110"
			}
			if dataset == "" || id == "" || len(text) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("--dataset, --id and --text are required")}
			}
			req := indexer.FromDatasetRequest{Dataset: dataset, IDColumn: id, TextColumns: text,
				MetadataColumns: meta, BatchSize: batch, Stream: true, Follow: follow}
			var bar io.Writer = cmd.ErrOrStderr()
			if quiet {
				bar = io.Discard
			}
			sum, err := runIndex(cmd, server, token, args[0], req, bar)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %s@%d into %q with %s (%d-d): %d rows, %d embedded, %d unchanged, %d empty, %d removed in %.1fs\n",
				sum.Dataset, sum.Version, sum.Index, sum.Model, sum.Dimension, sum.Processed, sum.Embedded,
				sum.Unchanged, sum.Empty, sum.Removed, sum.ElapsedMS/1000)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "lakehouse server URL (default: http://<listen> from the config)")
	f.StringVar(&dataset, "dataset", "", "dataset to read")
	f.StringVar(&id, "id", "", "column holding each row's id")
	f.StringSliceVar(&text, "text", nil, "columns whose text is embedded (joined by newlines)")
	f.StringSliceVar(&meta, "meta", nil, "columns stored as filterable metadata")
	f.IntVar(&batch, "batch", 256, "rows read, embedded and added at a time")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	f.BoolVar(&follow, "follow", false, "keep the index in step with the dataset: later versions (appends, upserts, deletes) re-embed only the rows that changed")
	return cmd
}

// runIndex posts the request and follows the NDJSON progress stream.
func runIndex(cmd *cobra.Command, server, token, index string, req indexer.FromDatasetRequest, w io.Writer) (indexer.FromDatasetSummary, error) {
	bar := newProgress(w, "indexing")
	var sum indexer.FromDatasetSummary
	done := false
	path := "/v1/vectors/index/" + url.PathEscape(index) + "/from-dataset"
	err := client.New(server, token, nil).Stream(cmd.Context(), http.MethodPost, path, req, func(b []byte) error {
		var line struct {
			indexer.FromDatasetSummary
			Error *struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(b, &line); err != nil {
			return fmt.Errorf("bad progress line %q: %w", b, err)
		}
		switch line.Event {
		case "progress":
			drawBar(bar, line.FromDatasetSummary)
		case "error":
			bar.done()
			msg := "unknown error"
			if line.Error != nil {
				msg = line.Error.Message + " (" + line.Error.Code + ")"
			}
			return errors.New(msg)
		case "done":
			drawBar(bar, line.FromDatasetSummary)
			bar.done()
			sum, done = line.FromDatasetSummary, true
		}
		return nil
	})
	switch {
	case err != nil:
		if errors.Is(err, client.ErrUnreachable) {
			return sum, fmt.Errorf("index: %w (is the server running? see --server)", err)
		}
		return sum, fmt.Errorf("index: %w", err)
	case !done:
		return sum, fmt.Errorf("index: the server closed the stream before the summary")
	}
	return sum, nil
}

// drawBar draws the run's progress line from the server's summary (its
// own rows/s, measured where the work is).
func drawBar(p *progress, s indexer.FromDatasetSummary) {
	rate := 0.0
	if s.ElapsedMS > 0 {
		rate = float64(s.Processed) / (s.ElapsedMS / 1000)
	}
	p.update(s.Processed, s.Total, count, &rate, "rows", fmt.Sprintf("  (%d embedded, %d unchanged)", s.Embedded, s.Unchanged))
}
