package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"lakehouse/internal/client"
	"lakehouse/modules/catalog"
	"lakehouse/modules/ingest"
	"lakehouse/modules/kit"
)

type ingestFlags struct {
	dataset, mode, server, idem, delim, tokenEnv string
	quote, encoding, dateFormat, tsFormat        string
	format, sheet, key                           string
	headerRow                                    int
}

func newIngestCmd(g *globalFlags) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest FILE --dataset NAME",
		Short: "Ingest a CSV, TSV, JSON, Parquet or xlsx file (or - for stdin) as a new dataset version",
		Long: "Ingest a file as a new version of a dataset. The format (csv, tsv, json/ndjson, parquet, xlsx) is\n" +
			"detected from the file name's extension, else from its first bytes; --format forces it.\n" +
			"Without --server it runs in-process on the data dir\n" +
			"(the server must not be running there); with --server it streams the file to that server,\n" +
			"authenticating with the token in $AUTH_TOKEN.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.dataset == "" {
				return &ExitError{Code: 2, Err: errors.New("--dataset is required")}
			}
			ctx := cmd.Context()
			if f.server != "" {
				return ingestRemote(ctx, cmd, args[0], f)
			}
			return ingestLocal(ctx, cmd, g, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataset, "dataset", "", "dataset name ([a-z][a-z0-9_]*)")
	fl.StringVar(&f.mode, "mode", "", "append (default: previous parts + this file, same schema), replace (this file only, new schema allowed),\n"+
		"upsert (rows replace those with the same --key, new keys are added) or delete (the file lists the keys whose rows go)")
	fl.StringVar(&f.key, "key", "", "upsert/delete: the key column(s), comma-separated (default: the dataset's declared key)")
	fl.StringVar(&f.server, "server", "", "URL of a running lakehouse (e.g. http://127.0.0.1:3110); default: ingest in-process")
	fl.StringVar(&f.idem, "idempotency-key", "", "replaying the same key with the same content returns the existing version")
	fl.StringVar(&f.delim, "delimiter", "", "field delimiter (default: sniffed among , ; tab |)")
	fl.StringVar(&f.quote, "quote", "", "quote character: '\"', \"'\" or none (default: sniffed)")
	fl.StringVar(&f.encoding, "encoding", "", "the file's encoding: utf-8, utf-16, utf-16le, utf-16be, windows-1252, latin-1 (default: detected; not valid UTF-8 reads as windows-1252)")
	fl.StringVar(&f.dateFormat, "date-format", "", "layout of DATE values, e.g. %d/%m/%Y (default: ISO, m/d/Y, d/m/Y, d.m.Y, Y/m/d detected)")
	fl.StringVar(&f.tsFormat, "timestamp-format", "", "layout of TIMESTAMP values, e.g. \"%m/%d/%Y %H:%M\" (default: detected)")
	fl.StringVar(&f.format, "format", "", "csv, tsv, json (ndjson), parquet or xlsx (default: from the extension, else the first bytes)")
	fl.StringVar(&f.sheet, "sheet", "", "xlsx: the worksheet to read, by name or 1-based position (default: the first)")
	fl.IntVar(&f.headerRow, "header-row", 0, "xlsx: the row holding the column names (default: detected)")
	fl.StringVar(&f.tokenEnv, "token-env", "AUTH_TOKEN", "environment variable holding the server's bearer token")
	return cmd
}

// progressLoop draws the ingest's progress line (see progress) until stop
// is closed: bytes read of the file, and rows/s (MB/s while uploading,
// when the server counts the rows: rows < 0).
func progressLoop(w io.Writer, done func() (bytes, rows, total int64), stop <-chan struct{}) {
	p := newProgress(w, "ingest")
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			p.done()
			return
		case <-t.C:
			b, rows, total := done()
			el := max(time.Since(p.began).Seconds(), 0.001)
			if rows < 0 {
				rate := float64(b) / 1e6 / el
				p.update(b, total, human, &rate, "MB", "")
			} else {
				rate := float64(rows) / el
				p.update(b, total, human, &rate, "rows", "")
			}
		}
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func summary(w io.Writer, m catalog.Manifest, existing bool, rows, in int64, el time.Duration) {
	if existing {
		fmt.Fprintf(w, "%s v%d already holds this content (idempotent replay): %d rows, %d files\n", m.Name, m.Version, m.RowCount, len(m.Files))
		return
	}
	fmt.Fprintf(w, "ingested %s v%d: %d rows (%d in this file), %d files, %s in %s (%.1f MB/s)\n",
		m.Name, m.Version, m.RowCount, rows, len(m.Files), human(in), el.Round(time.Millisecond), float64(in)/1e6/max(el.Seconds(), 0.001))
}

// notes prints what the ingest says the user should check (an encoding
// guessed, ambiguous dates) on stderr.
func notes(w io.Writer, ns []string) {
	for _, n := range ns {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func ingestLocal(ctx context.Context, cmd *cobra.Command, g *globalFlags, path string, f ingestFlags) error {
	l, err := g.loadConfig(cmd.ErrOrStderr())
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	delim, err := ingestDelimiter(f.delim)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := os.MkdirAll(l.Config.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := Boot(ctx, l.Config, log, []string{"ingest"})
	if err != nil {
		if errors.Is(err, catalog.ErrLocked) {
			return &ExitError{Code: 1, Err: fmt.Errorf("%w\n  a running lakehouse server holds the metadata database in %s;\n  send the file to it instead: lakehouse ingest %s --dataset %s --server http://%s",
				err, l.Config.DataDir, path, f.dataset, l.Config.Listen)}
		}
		return err
	}
	defer func() { _ = c.Stop(context.Background()) }()
	svc, err := kit.Resolve[ingest.Service](c)
	if err != nil {
		return err
	}
	prog := &ingest.Progress{}
	key, err := ingest.ParseKey(f.key)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	req := ingest.Request{Dataset: f.dataset, Mode: f.mode, Key: key, IdempotencyKey: f.idem, Source: "cli:" + path, Delimiter: delim,
		Quote: f.quote, Encoding: f.encoding, DateFormat: f.dateFormat, TimestampFormat: f.tsFormat, Progress: prog,
		Format: f.format, Sheet: f.sheet, HeaderRow: f.headerRow}
	began := time.Now()
	stop := make(chan struct{})
	finished := make(chan struct{})
	if isTerminal(cmd.ErrOrStderr()) {
		go func() {
			progressLoop(cmd.ErrOrStderr(), func() (int64, int64, int64) {
				b, r := prog.Done()
				return b, r, prog.Total.Load()
			}, stop)
			close(finished)
		}()
	} else {
		close(finished)
	}
	var res ingest.Result
	if path == "-" {
		res, err = svc.IngestReader(ctx, os.Stdin, req)
	} else {
		res, err = svc.IngestFile(ctx, path, req)
	}
	close(stop)
	<-finished
	if err != nil {
		var ce *ingest.CSVError
		if errors.As(err, &ce) {
			return fmt.Errorf("%s: %w", path, ce)
		}
		var ie *ingest.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s: %w", path, ie)
		}
		return err
	}
	summary(cmd.OutOrStdout(), res.Manifest, res.Existing, res.Stats.Rows, res.Stats.InputBytes, time.Since(began))
	changeSummary(cmd.OutOrStdout(), res.Stats.Change)
	notes(cmd.ErrOrStderr(), res.Stats.Notes)
	return nil
}

// changeSummary prints what an upsert or a delete by key did.
func changeSummary(w io.Writer, ch *ingest.ChangeStats) {
	if ch == nil {
		return
	}
	fmt.Fprintf(w, "by key (%s): %d inserted, %d updated, %d unchanged, %d deleted, %d unknown keys; parts: %d rewritten, %d dropped, %d kept (%d checked), %s written\n",
		strings.Join(ch.Key, ", "), ch.Inserted, ch.Updated, ch.Unchanged, ch.Deleted, ch.UnknownKeys,
		ch.PartsRewritten, ch.PartsDropped, ch.PartsKept, ch.PartsChecked, human(ch.BytesWritten))
}

func ingestDelimiter(s string) (byte, error) {
	switch s {
	case "":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("--delimiter must be one character or \"tab\", not %q", s)
	}
	return s[0], nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func ingestRemote(ctx context.Context, cmd *cobra.Command, path string, f ingestFlags) error {
	var body io.Reader = os.Stdin
	size := int64(-1)
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		body = file
	}
	q := url.Values{"name": {f.dataset}}
	for k, v := range map[string]string{"mode": f.mode, "idempotency_key": f.idem, "delimiter": f.delim, "quote": f.quote,
		"encoding": f.encoding, "dateformat": f.dateFormat, "timestampformat": f.tsFormat,
		"format": f.format, "sheet": f.sheet, "key": f.key} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.headerRow > 0 {
		q.Set("header_row", strconv.Itoa(f.headerRow))
	}
	if path != "-" {
		q.Set("filename", filepath.Base(path)) // the server detects the format by it
	}
	cr := &countingReader{r: body}
	api := client.New(f.server, os.Getenv(f.tokenEnv), nil)
	began := time.Now()
	stop := make(chan struct{})
	finished := make(chan struct{})
	if isTerminal(cmd.ErrOrStderr()) && size > 0 {
		go func() {
			progressLoop(cmd.ErrOrStderr(), func() (int64, int64, int64) { return cr.n.Load(), -1, size }, stop)
			close(finished)
		}()
	} else {
		close(finished)
	}
	resp, err := api.Do(ctx, client.Request{Method: http.MethodPost, Path: "/v1/ingest?" + q.Encode(),
		Body: cr, ContentType: "text/csv", ContentLength: size})
	close(stop)
	<-finished
	if err != nil {
		return serverError("ingest", err, f.tokenEnv)
	}
	var out struct {
		catalog.Manifest
		Existing bool         `json:"existing"`
		Ingest   ingest.Stats `json:"ingest"`
	}
	if err := api.Decode(resp, &out); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	summary(cmd.OutOrStdout(), out.Manifest, out.Existing, out.Ingest.Rows, cr.n.Load(), time.Since(began))
	changeSummary(cmd.OutOrStdout(), out.Ingest.Change)
	notes(cmd.ErrOrStderr(), out.Ingest.Notes)
	return nil
}

// serverError is how a --server command reports a failed call: the
// server's answer exits 1 naming its status and code (a 401 says which
// variable holds the token), an unreachable server says so.
func serverError(what string, err error, tokenEnv string) error {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if ae.Status == http.StatusUnauthorized && tokenEnv != "" {
		err = fmt.Errorf("%w (set $%s to the server's token)", err, tokenEnv)
	}
	return &ExitError{Code: 1, Err: fmt.Errorf("%s: %w", what, err)}
}
