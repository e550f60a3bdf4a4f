// Package indexer is the indexer module. It indexes a dataset's text into a vector index:
// POST /v1/vectors/index/<name>/from-dataset embeds every row (batched,
// streaming pages from the query engine) and adds it; a re-run embeds only
// new or changed rows and removes rows gone from the dataset.
package indexer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/query"
	"lakehouse/modules/vector"
)

// FromDatasetRequest is the body of
// POST /v1/vectors/index/<name>/from-dataset.
type FromDatasetRequest struct {
	Dataset         string   `json:"dataset"`
	IDColumn        string   `json:"id_column"`
	TextColumns     []string `json:"text_columns"`
	MetadataColumns []string `json:"metadata_columns"`
	// BatchSize is how many rows are read, embedded and added at a time
	// (default 256, at most 2048): the run's memory is bounded by it.
	BatchSize int `json:"batch_size,omitempty"`
	// Stream answers with NDJSON progress lines (also chosen by
	// Accept: application/x-ndjson), ending with the summary.
	Stream bool `json:"stream,omitempty"`
	// Follow keeps the index in step with the dataset after this run:
	// every new version (append, replace, upsert, delete) is applied from
	// the change feed, embedding only the rows whose indexed text or
	// metadata changed and removing the rows gone. false (the default)
	// leaves the index as this run made it; a later run without follow
	// stops following.
	Follow bool `json:"follow,omitempty"`
}

// FromDatasetSummary is the answer (the last NDJSON line when streaming).
type FromDatasetSummary struct {
	Event        string  `json:"event,omitempty"`
	Index        string  `json:"index"`
	Dataset      string  `json:"dataset"`
	Version      int     `json:"version"`
	Model        string  `json:"model"`
	Dimension    int     `json:"dimension"`
	CreatedIndex bool    `json:"created_index"`
	Total        int64   `json:"total"`     // rows in the dataset version
	Processed    int64   `json:"processed"` // rows read so far
	Embedded     int64   `json:"embedded"`  // new or changed rows embedded and added
	Unchanged    int64   `json:"unchanged"` // rows already indexed with the same text and metadata
	Empty        int64   `json:"empty"`     // rows whose text columns are all empty (skipped)
	Removed      int64   `json:"removed"`   // ids indexed by an earlier run and gone from the dataset
	ElapsedMS    float64 `json:"elapsed_ms"`
}

// handler serves the pipeline route with the collaborators the module
// resolved at Init.
type handler struct {
	// followMu guards followCache, what each index's state file says about
	// following (see following).
	followMu    sync.Mutex
	followCache map[string]followInfo

	dataDir string
	log     *slog.Logger
	runs    *pipelines
	vs      vector.Service
	q       query.Querier
	cat     catalog.Catalog
	emb     embed.Embedder
}

// pipelines allows one from-dataset run per index at a time.
type pipelines struct {
	mu      sync.Mutex
	running map[string]bool
}

func newPipelines() *pipelines { return &pipelines{running: map[string]bool{}} }

func (p *pipelines) acquire(index string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[index] {
		return false
	}
	p.running[index] = true
	return true
}

func (p *pipelines) release(index string) {
	p.mu.Lock()
	delete(p.running, index)
	p.mu.Unlock()
}

func (h *handler) fromDataset(c echo.Context) error {
	index := c.Param("name")
	var req FromDatasetRequest
	if err := kit.DecodeJSON(c.Request().Body, &req); err != nil {
		return err
	}
	if req.Dataset == "" || req.IDColumn == "" || len(req.TextColumns) == 0 {
		return kit.BadRequest("dataset, id_column and text_columns are required")
	}
	if req.BatchSize == 0 {
		req.BatchSize = 256
	}
	if req.BatchSize < 1 || req.BatchSize > 2048 {
		return kit.BadRequest("batch_size: must be 1..2048, got %d", req.BatchSize)
	}
	vs, q, cat := h.vs, h.q, h.cat
	ctx := c.Request().Context()
	// Both the dataset read and the index written (when it exists and came
	// from another dataset) must be within the caller's grants.
	if !kit.SeesDataset(ctx, req.Dataset) {
		return kit.NotFound("dataset %q not found", req.Dataset)
	}
	if info, err := vs.Info(ctx, index); err == nil {
		if info.Dataset != "" && !kit.SeesDataset(ctx, info.Dataset) {
			return fmt.Errorf("indexer: %q: %w", index, vector.ErrIndexNotFound)
		}
		// An index made by hand and now filled from a dataset holds that
		// dataset's rows: its grants decide who sees it from now on.
		if ds, ok := vs.(vector.DatasetSetter); ok && info.Dataset == "" {
			if err := ds.SetDataset(ctx, index, req.Dataset); err != nil {
				return err
			}
		}
	}
	man, err := cat.Get(ctx, req.Dataset)
	if errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrInvalidName) {
		return kit.NotFound("dataset %q not found", req.Dataset)
	}
	if err != nil {
		return err
	}
	if err := checkColumns(man, req); err != nil {
		return err
	}
	emb := h.emb
	if emb == nil {
		return embed.ErrNoEmbedder
	}
	if !h.runs.acquire(index) {
		return kit.Conflict("pipeline_running", "a from-dataset run for index %q is already in progress", index)
	}
	defer h.runs.release(index)

	run := &pipelineRun{
		h: h, vs: vs, q: q, emb: emb, index: index, req: req, manifest: man,
		sum: FromDatasetSummary{Index: index, Dataset: req.Dataset, Version: man.Version,
			Model: emb.Model(), Total: man.RowCount},
	}
	stream := req.Stream || c.Request().Header.Get("Accept") == "application/x-ndjson"
	if !stream {
		if err := run.prepare(ctx); err != nil {
			return err
		}
		if err := run.execute(ctx, nil); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, run.sum)
	}
	// Validation errors still answer with a status; once rows flow, errors
	// become the last NDJSON line.
	if err := run.prepare(ctx); err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	last := time.Time{}
	progress := func(s FromDatasetSummary) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		s.Event = "progress"
		_ = enc.Encode(s)
		w.Flush()
	}
	if err := run.execute(ctx, progress); err != nil {
		ae := kit.AnswerFor(c, err, h.log, "index", index) // the stream's last line
		_ = enc.Encode(map[string]any{"event": "error", "error": ae})
		w.Flush()
		return nil
	}
	run.sum.Event = "done"
	_ = enc.Encode(run.sum)
	w.Flush()
	return nil
}

func checkColumns(man catalog.Manifest, req FromDatasetRequest) error {
	have := map[string]bool{}
	for _, col := range man.Schema {
		have[col.Name] = true
	}
	all := append(append([]string{req.IDColumn}, req.TextColumns...), req.MetadataColumns...)
	for _, name := range all {
		// Names are quoted as identifiers in the SQL, so any schema column
		// is safe; control characters never are.
		if name == "" || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return kit.BadRequest("column %q: invalid column name", name).WithDetails(map[string]any{"column": name})
		}
		if !have[name] {
			return kit.BadRequest("column %q is not in dataset %q (version %d)", name, man.Name, man.Version).
				WithDetails(map[string]any{"column": name, "dataset": man.Name})
		}
	}
	return nil
}
