package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"lakehouse/app"
	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/query"
	"lakehouse/modules/vector"
)

// pipelineRun is one from-dataset run: read the dataset version page by
// page (keyset pagination on the id column, so memory is bounded by the
// batch size), skip rows whose text and metadata hash is unchanged since
// the last run, embed the rest through the cached embedder, add them.
type pipelineRun struct {
	h        *handler
	vs       vector.Service
	q        query.Querier
	emb      embed.Embedder
	index    string
	req      FromDatasetRequest
	manifest catalog.Manifest
	state    *pipelineState
	sum      FromDatasetSummary
	start    time.Time
}

// prepare creates the index when missing (recording the embedder's model)
// or checks that an existing one was built with the same model and
// dimension, and loads the change-detection state.
func (r *pipelineRun) prepare(ctx context.Context) error {
	r.start = time.Now()
	model := r.emb.Model()
	dim := r.emb.Dimension()
	if dim == 0 { // remote provider that has not answered yet: ask it once
		v, err := r.emb.EmbedBatch(ctx, []string{"dimension probe"})
		if err != nil {
			return embed.APIError(err)
		}
		dim = len(v[0])
	}
	r.sum.Dimension = dim
	info, err := r.vs.Info(ctx, r.index)
	switch {
	case errors.Is(err, vector.ErrIndexNotFound):
		_, err = r.vs.Create(ctx, vector.IndexSpec{Name: r.index, Dim: dim, Metric: "cosine", Model: model})
		if errors.Is(err, vector.ErrInvalid) {
			return app.BadRequest("%v", err)
		}
		if err != nil && !errors.Is(err, vector.ErrIndexExists) {
			return fmt.Errorf("embed: create index %q: %w", r.index, err)
		}
		r.sum.CreatedIndex = err == nil
		info, err = r.vs.Info(ctx, r.index)
		if err != nil {
			return fmt.Errorf("embed: index %q: %w", r.index, err)
		}
	case err != nil:
		return fmt.Errorf("embed: index %q: %w", r.index, err)
	}
	if info.Dim != dim || (info.Model != "" && info.Model != model) {
		return app.BadRequest("index %q holds model %q (dimension %d) but the embedder is model %q (dimension %d)",
			r.index, info.Model, info.Dim, model, dim).
			WithDetails(map[string]any{"index_model": info.Model, "index_dimension": info.Dim, "model": model, "dimension": dim})
	}
	st, err := loadPipelineState(r.h.stateDir(), r.index)
	if err != nil {
		return err
	}
	// A state that remembers more rows than the index holds belongs to an
	// earlier index of this name (dropped and recreated): start afresh.
	if r.sum.CreatedIndex || st.Model != model || st.Dataset != r.req.Dataset || len(st.Rows) > info.Length {
		st = newPipelineState(r.req.Dataset, model)
	}
	r.state = st
	return nil
}

// execute runs the pages; progress (may be nil) is called after each.
func (r *pipelineRun) execute(ctx context.Context, progress func(FromDatasetSummary)) error {
	cols := append(append([]string{r.req.IDColumn}, r.req.TextColumns...), r.req.MetadataColumns...)
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	table := quoteIdent(fmt.Sprintf("%s@%d", r.manifest.Name, r.manifest.Version))
	id := quoteIdent(r.req.IDColumn)
	base := fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted, ", "), table)
	seen := make(map[string]bool, min(r.sum.Total, 1<<20))
	var after any
	saved := time.Now()
	for {
		sqlText := fmt.Sprintf("%s WHERE %s IS NOT NULL ORDER BY %s LIMIT %d", base, id, id, r.req.BatchSize)
		var params []any
		if after != nil {
			sqlText = fmt.Sprintf("%s WHERE %s > $1 ORDER BY %s LIMIT %d", base, id, id, r.req.BatchSize)
			params = []any{after}
		}
		res, err := r.q.Query(ctx, sqlText, params, r.req.BatchSize)
		if err != nil {
			return fmt.Errorf("embed: read %s: %w", r.manifest.Name, err)
		}
		if len(res.Rows) == 0 {
			break
		}
		after = res.Rows[len(res.Rows)-1][0]
		if err := r.page(ctx, res.Rows, seen); err != nil {
			return err
		}
		if progress != nil {
			r.sum.ElapsedMS = msSince(r.start)
			progress(r.sum)
		}
		if time.Since(saved) > 5*time.Second { // resumable after a crash
			if err := r.state.save(r.h.stateDir(), r.index); err != nil {
				return err
			}
			saved = time.Now()
		}
		if len(res.Rows) < r.req.BatchSize {
			break
		}
	}
	// Rows indexed by an earlier run that the dataset no longer has.
	var gone []string
	for id := range r.state.Rows {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	for start := 0; start < len(gone); start += 1024 {
		batch := gone[start:min(start+1024, len(gone))]
		if err := r.vs.Delete(ctx, r.index, batch); err != nil && !errors.Is(err, vector.ErrIndexNotFound) {
			return fmt.Errorf("embed: remove %d gone rows: %w", len(batch), err)
		}
		for _, id := range batch {
			delete(r.state.Rows, id)
		}
		r.sum.Removed += int64(len(batch))
	}
	if err := r.state.save(r.h.stateDir(), r.index); err != nil {
		return err
	}
	r.sum.ElapsedMS = msSince(r.start)
	r.h.log.Info("from-dataset run done", "index", r.index, "dataset", r.req.Dataset, "version", r.manifest.Version,
		"embedded", r.sum.Embedded, "unchanged", r.sum.Unchanged, "removed", r.sum.Removed, "ms", r.sum.ElapsedMS)
	return nil
}

// page embeds and adds the new or changed rows of one page.
func (r *pipelineRun) page(ctx context.Context, rows [][]any, seen map[string]bool) error {
	nText := len(r.req.TextColumns)
	var items []vector.Item
	var texts []string
	var hashes []string
	for _, row := range rows {
		r.sum.Processed++
		id := scalarString(row[0])
		seen[id] = true
		parts := make([]string, 0, nText)
		for _, v := range row[1 : 1+nText] {
			if s := strings.TrimSpace(scalarString(v)); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			r.sum.Empty++
			continue
		}
		text := strings.Join(parts, "\n")
		meta := map[string]any{}
		for i, name := range r.req.MetadataColumns {
			if v := metaValue(row[1+nText+i]); v != nil {
				meta[name] = v
			}
		}
		h := rowHash(text, meta)
		if r.state.Rows[id] == h {
			r.sum.Unchanged++
			continue
		}
		items = append(items, vector.Item{ID: id, Metadata: meta})
		texts = append(texts, text)
		hashes = append(hashes, h)
	}
	if len(items) == 0 {
		return nil
	}
	vecs, err := r.emb.EmbedBatch(ctx, texts)
	if err != nil {
		return embed.APIError(err)
	}
	for i := range items {
		items[i].Vector = vecs[i]
	}
	if err := r.vs.Add(ctx, r.index, items); err != nil {
		if errors.Is(err, vector.ErrInvalid) {
			return app.BadRequest("%v", err)
		}
		return fmt.Errorf("embed: add %d items to %q: %w", len(items), r.index, err)
	}
	for i, it := range items {
		r.state.Rows[it.ID] = hashes[i]
	}
	r.sum.Embedded += int64(len(items))
	return nil
}

// rowHash identifies a row's indexed content (text + metadata).
func rowHash(text string, meta map[string]any) string {
	h := sha256.New()
	h.Write([]byte(text))
	h.Write([]byte{0})
	b, _ := json.Marshal(meta) // map keys are sorted: stable
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// scalarString formats an id or text cell.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// metaValue keeps JSON scalars as they are (so filters compare numbers
// as numbers) and formats anything else as a string.
func metaValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, bool, float64, float32, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return scalarString(v)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
