package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"lakehouse/internal/client"
)

// IndexName is the vector index the seed builds from candidates.summary.
const IndexName = "candidates"

// sourcePrefix marks a dataset version as the seed's own (the ingest
// route records "ingest:<uploaded file name>" as the manifest's source),
// so a re-run may replace it but never a user's dataset of the same name.
const sourcePrefix = "ingest:lakehouse-demo-"

// ErrForeignDataset is returned when a dataset the seed would write
// already exists and was not made by the seed.
var ErrForeignDataset = errors.New("dataset exists and was not created by lakehouse demo seed")

// Client talks to a running lakehouse.
type Client struct {
	URL   string // e.g. http://127.0.0.1:3110
	Token string // bearer token; "" in development mode
	HTTP  *http.Client
}

// Options tune a seed run.
type Options struct {
	Scale float64 // 1 = 100 000 candidates
	// Force replaces same-named datasets that the seed did not create.
	Force bool
	// Log receives one line per step (nil = discard).
	Log io.Writer
	// Progress is called while the candidates index is built.
	Progress func(done, total int64)
}

// TableResult is what happened to one dataset.
type TableResult struct {
	Name    string `json:"name"`
	Rows    int    `json:"rows"`
	Version int    `json:"version"`
	Changed bool   `json:"changed"`
}

// IndexResult summarises the vector index build.
type IndexResult struct {
	Name      string `json:"name"`
	Total     int64  `json:"total"`
	Embedded  int64  `json:"embedded"`
	Unchanged int64  `json:"unchanged"`
	Removed   int64  `json:"removed"`
}

// Report is the outcome of Seed.
type Report struct {
	Tables  []TableResult `json:"tables"`
	Index   IndexResult   `json:"index"`
	Queries int           `json:"queries_saved"`
	Changed bool          `json:"changed"`
}

// api is the API client for c.
func (c Client) api() *client.Client { return client.New(c.URL, c.Token, c.HTTP) }

// do sends body with contentType and returns the 2xx response (a
// *client.Error otherwise).
func (c Client) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	resp, err := c.api().Do(ctx, client.Request{Method: method, Path: path, Body: body, ContentType: contentType})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

// Seed generates the tables at opts.Scale, ingests each one through
// POST /v1/ingest (mode=replace, so a re-run at another scale replaces
// the seed's previous data; identical content is an idempotent no-op),
// declares each table's key and foreign keys in the catalog (so every
// row has a page in the workbench), builds the candidates vector index
// from the summaries, and saves the
// canonical question as a named query when the server has the workbench.
func Seed(ctx context.Context, c Client, opts Options) (Report, error) {
	var rep Report
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", a...)
		}
	}
	began := time.Now()
	tables, err := Generate(opts.Scale)
	if err != nil {
		return rep, err
	}
	logf("generated %d tables at scale %g in %s", len(tables), opts.Scale, time.Since(began).Round(time.Millisecond))
	for _, t := range tables {
		if err := c.checkOwner(ctx, t.Name, opts.Force); err != nil {
			return rep, err
		}
	}
	for _, t := range tables {
		start := time.Now()
		res, err := c.ingest(ctx, t)
		if err != nil {
			return rep, fmt.Errorf("ingest %s: %w", t.Name, err)
		}
		rep.Tables = append(rep.Tables, res)
		state := "unchanged"
		if res.Changed {
			state, rep.Changed = "new version", true
		}
		logf("  %-11s %8d rows  v%-3d %-11s %s", t.Name, res.Rows, res.Version, state, time.Since(start).Round(time.Millisecond))
	}
	if err := c.declareKeys(ctx); err != nil {
		return rep, err
	}
	logf("  declared the keys and foreign keys of %d tables", len(Keys))
	start := time.Now()
	idx, err := c.buildIndex(ctx, opts.Progress)
	if err != nil {
		return rep, fmt.Errorf("vector index %s: %w", IndexName, err)
	}
	rep.Index = idx
	if idx.Embedded > 0 || idx.Removed > 0 {
		rep.Changed = true
	}
	logf("  index %-5s %8d rows  %d embedded, %d unchanged, %d removed  %s", idx.Name, idx.Total, idx.Embedded,
		idx.Unchanged, idx.Removed, time.Since(start).Round(time.Millisecond))
	saved, err := c.saveQueries(ctx)
	if err != nil {
		return rep, fmt.Errorf("saved queries: %w", err)
	}
	rep.Queries = saved
	if saved > 0 {
		rep.Changed = true
		logf("  saved %d example queries", saved)
	}
	return rep, nil
}

// checkOwner refuses to replace a dataset that someone else made.
func (c Client) checkOwner(ctx context.Context, name string, force bool) error {
	var m struct {
		Source string `json:"source"`
	}
	err := c.api().Call(ctx, http.MethodGet, "/v1/catalog/manifest/"+url.PathEscape(name), nil, &m)
	switch {
	case client.IsStatus(err, http.StatusNotFound):
		return nil
	case err != nil:
		return err
	case strings.HasPrefix(m.Source, sourcePrefix) || force:
		return nil
	}
	return fmt.Errorf("%w: %q (source %q); rerun with --force to replace it, or seed another data dir", ErrForeignDataset, name, m.Source)
}

// ingest streams one table as a multipart upload named after the seed.
func (c Client) ingest(ctx context.Context, t Table) (TableResult, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", "lakehouse-demo-"+t.Name+".csv")
		if err == nil {
			_, err = io.Copy(part, bytes.NewReader(t.CSV))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	q := url.Values{"name": {t.Name}, "mode": {"replace"}}
	resp, err := c.do(ctx, http.MethodPost, "/v1/ingest?"+q.Encode(), mw.FormDataContentType(), pr)
	if err != nil {
		_ = pr.CloseWithError(err)
		return TableResult{}, err
	}
	defer resp.Body.Close()
	var m struct {
		Version  int   `json:"version"`
		RowCount int   `json:"row_count"`
		Existing *bool `json:"existing"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return TableResult{}, fmt.Errorf("decode answer: %w", err)
	}
	return TableResult{Name: t.Name, Rows: m.RowCount, Version: m.Version, Changed: m.Existing == nil || !*m.Existing}, nil
}

// buildIndex runs the from-dataset pipeline with NDJSON progress; it is
// incremental, so a re-run over unchanged rows embeds nothing.
func (c Client) buildIndex(ctx context.Context, progress func(done, total int64)) (IndexResult, error) {
	body := map[string]any{
		"dataset": "candidates", "id_column": "candidate_id", "text_columns": []string{"summary"},
		"metadata_columns": []string{"name", "city", "state", "role", "shift", "availability", "hourly_rate", "years", "reliability"},
		"batch_size":       256, "stream": true,
	}
	var res *IndexResult
	err := c.api().Stream(ctx, http.MethodPost, "/v1/vectors/index/"+IndexName+"/from-dataset", body, func(b []byte) error {
		var line struct {
			Event     string `json:"event"`
			Total     int64  `json:"total"`
			Processed int64  `json:"processed"`
			Embedded  int64  `json:"embedded"`
			Unchanged int64  `json:"unchanged"`
			Removed   int64  `json:"removed"`
			Error     *struct{ Code, Message string }
		}
		if err := json.Unmarshal(b, &line); err != nil {
			return fmt.Errorf("progress line: %w", err)
		}
		switch {
		case line.Error != nil:
			return &client.Error{Status: 500, Code: line.Error.Code, Message: line.Error.Message}
		case line.Event == "done":
			res = &IndexResult{Name: IndexName, Total: line.Total, Embedded: line.Embedded, Unchanged: line.Unchanged, Removed: line.Removed}
		case progress != nil:
			progress(line.Processed, line.Total)
		}
		return nil
	})
	switch {
	case err != nil:
		return IndexResult{}, err
	case res == nil:
		return IndexResult{}, errors.New("progress stream ended without a summary")
	}
	return *res, nil
}
