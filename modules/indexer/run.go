package indexer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
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
	// changes, when set, is the change view ("name@N..M") whose ids are
	// the only rows read: a follow step reads what changed, not the
	// dataset. changed holds those ids, read once at the start.
	changes string
	changed []string
}

// followPages bounds the pages a follow step reads through the change
// view: each page's query evaluates the view again, so a change touching
// more rows (a replace) is applied by a full pass, which reads the
// version once and still embeds only changed rows.
const followPages = 4

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
			return fmt.Errorf("embed: %w", err)
		}
		dim = len(v[0])
	}
	r.sum.Dimension = dim
	info, err := r.vs.Info(ctx, r.index)
	switch {
	case errors.Is(err, vector.ErrIndexNotFound):
		_, err = r.vs.Create(ctx, vector.IndexSpec{Name: r.index, Dim: dim, Metric: "cosine", Model: model, Dataset: r.req.Dataset})
		if errors.Is(err, vector.ErrInvalid) {
			return kit.BadRequest("%v", err)
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
		return kit.BadRequest("index %q holds model %q (dimension %d) but the embedder is model %q (dimension %d)",
			r.index, info.Model, info.Dim, model, dim).
			WithDetails(map[string]any{"index_model": info.Model, "index_dimension": info.Dim, "model": model, "dimension": dim})
	}
	st, err := loadPipelineState(r.h.stateDir(), r.index)
	if err != nil {
		return err
	}
	// A state that remembers more rows than the index holds belongs to an
	// earlier index of this name (dropped and recreated): start afresh.
	// An index filled before items kept their text has no keyword side:
	// re-adding every row gives it one (same vectors: only text changes).
	if r.sum.CreatedIndex || st.Model != model || st.Dataset != r.req.Dataset || len(st.Rows) > info.Length ||
		(info.KeywordDocs == 0 && len(st.Rows) > 0) {
		st = newPipelineState(r.req.Dataset, model)
	}
	r.state = st
	return nil
}

// batch is one page's work handed from the reading/embedding stage to the
// adding stage, with the page's counters.
type batch struct {
	items                       []vector.Item
	hashes                      []string
	processed, unchanged, empty int64
}

// execute runs the pages in two overlapping stages: one goroutine reads
// and embeds page N+1 while this one adds page N to the index (the
// embedder and the index insert share the cores instead of taking
// turns). progress (may be nil) is called after each added page.
func (r *pipelineRun) execute(ctx context.Context, progress func(FromDatasetSummary)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.changes != "" {
		ids, err := r.changedIDs(ctx)
		if err != nil {
			return err
		}
		if len(ids) > followPages*r.req.BatchSize {
			r.changes = ""
		} else {
			r.changed = ids
		}
	}
	// The producer reads the previous run's hashes; only this goroutine
	// writes the state, so the producer gets its own copy.
	old := maps.Clone(r.state.Rows)
	seen := make(map[string]bool, min(r.sum.Total, 1<<20))
	work := make(chan batch, 1)
	var readErr error
	go func() {
		defer close(work)
		readErr = r.produce(ctx, old, seen, work)
	}()
	saved := time.Now()
	var addErr error
	for b := range work {
		if addErr != nil {
			continue // drain so the producer can finish
		}
		if addErr = r.add(ctx, b); addErr != nil {
			cancel()
			continue
		}
		if progress != nil {
			r.sum.ElapsedMS = msSince(r.start)
			progress(r.sum)
		}
		if time.Since(saved) > 5*time.Second { // resumable after a crash
			if addErr = r.state.save(r.h.stateDir(), r.index); addErr != nil {
				cancel()
			}
			saved = time.Now()
		}
	}
	if addErr != nil {
		return addErr
	}
	if readErr != nil {
		return readErr
	}
	// Rows indexed by an earlier run that the dataset no longer has.
	var gone []string
	if r.changes != "" {
		for _, id := range r.changed {
			if _, indexed := r.state.Rows[id]; indexed && !seen[id] {
				gone = append(gone, id)
			}
		}
	} else {
		for id := range r.state.Rows {
			if !seen[id] {
				gone = append(gone, id)
			}
		}
	}
	for start := 0; start < len(gone); start += 1024 {
		ids := gone[start:min(start+1024, len(gone))]
		if err := r.vs.Delete(ctx, r.index, ids); err != nil && !errors.Is(err, vector.ErrIndexNotFound) {
			return fmt.Errorf("embed: remove %d gone rows: %w", len(ids), err)
		}
		for _, id := range ids {
			delete(r.state.Rows, id)
		}
		r.sum.Removed += int64(len(ids))
	}
	r.state.Version = r.manifest.Version
	req := r.req
	req.Stream = false
	r.state.Request = &req
	if err := r.state.save(r.h.stateDir(), r.index); err != nil {
		return err
	}
	r.sum.ElapsedMS = msSince(r.start)
	r.h.log.Info("from-dataset run done", "index", r.index, "dataset", r.req.Dataset, "version", r.manifest.Version,
		"embedded", r.sum.Embedded, "unchanged", r.sum.Unchanged, "removed", r.sum.Removed, "ms", r.sum.ElapsedMS)
	return nil
}

// produce reads the dataset version page by page (keyset pagination on
// the id column) and sends each page's new or changed rows, embedded.
func (r *pipelineRun) produce(ctx context.Context, old map[string]string, seen map[string]bool, out chan<- batch) error {
	cols := append(append([]string{r.req.IDColumn}, r.req.TextColumns...), r.req.MetadataColumns...)
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	table := quoteIdent(fmt.Sprintf("%s@%d", r.manifest.Name, r.manifest.Version))
	id := quoteIdent(r.req.IDColumn)
	base := fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL", strings.Join(quoted, ", "), table, id)
	if r.changes != "" {
		base += fmt.Sprintf(" AND %s IN (SELECT %s FROM %s)", id, id, quoteIdent(r.changes))
	}
	return r.pages(ctx, base, func(rows [][]any) error {
		b, err := r.page(ctx, rows, old, seen)
		if err != nil {
			return err
		}
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// pages runs base (a SELECT whose first column is the id column, ending
// in a WHERE) a batch at a time in id order, keyset-paginated so memory
// stays bounded by the batch size, and hands each non-empty page to fn.
func (r *pipelineRun) pages(ctx context.Context, base string, fn func(rows [][]any) error) error {
	id := quoteIdent(r.req.IDColumn)
	var after any
	for {
		sqlText := fmt.Sprintf("%s ORDER BY %s LIMIT %d", base, id, r.req.BatchSize)
		var params []any
		if after != nil {
			sqlText = fmt.Sprintf("%s AND %s > $1 ORDER BY %s LIMIT %d", base, id, id, r.req.BatchSize)
			params = []any{after}
		}
		res, err := r.q.Query(ctx, sqlText, params, r.req.BatchSize)
		if err != nil {
			return fmt.Errorf("embed: read %s: %w", r.manifest.Name, err)
		}
		if len(res.Rows) == 0 {
			return nil
		}
		after = res.Rows[len(res.Rows)-1][0]
		if err := fn(res.Rows); err != nil {
			return err
		}
		if len(res.Rows) < r.req.BatchSize {
			return nil
		}
	}
}

// changedIDs lists the ids the change view names (inserted, updated or
// deleted rows), a page at a time.
func (r *pipelineRun) changedIDs(ctx context.Context) ([]string, error) {
	id := quoteIdent(r.req.IDColumn)
	base := fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL", id, quoteIdent(r.changes), id)
	var ids []string
	err := r.pages(ctx, base, func(rows [][]any) error {
		for _, row := range rows {
			ids = append(ids, scalarString(row[0]))
		}
		return nil
	})
	return ids, err
}

// page picks the new or changed rows of one page and embeds their text.
func (r *pipelineRun) page(ctx context.Context, rows [][]any, old map[string]string, seen map[string]bool) (batch, error) {
	nText := len(r.req.TextColumns)
	var b batch
	var texts []string
	for _, row := range rows {
		b.processed++
		id := scalarString(row[0])
		seen[id] = true
		parts := make([]string, 0, nText)
		for _, v := range row[1 : 1+nText] {
			if s := strings.TrimSpace(scalarString(v)); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			b.empty++
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
		if old[id] == h {
			b.unchanged++
			continue
		}
		// The text is kept with the item: the index's keyword side
		// (keyword and hybrid search) searches what was embedded.
		b.items = append(b.items, vector.Item{ID: id, Metadata: meta, Text: text})
		texts = append(texts, text)
		b.hashes = append(b.hashes, h)
	}
	if len(texts) == 0 {
		return b, nil
	}
	vecs, err := r.emb.EmbedBatch(ctx, texts)
	if err != nil {
		return b, fmt.Errorf("embed: %w", err)
	}
	for i := range b.items {
		b.items[i].Vector = vecs[i]
	}
	return b, nil
}

// add writes one batch to the index, then records it in the state.
func (r *pipelineRun) add(ctx context.Context, b batch) error {
	r.sum.Processed += b.processed
	r.sum.Unchanged += b.unchanged
	r.sum.Empty += b.empty
	if len(b.items) == 0 {
		return nil
	}
	if err := r.vs.Add(ctx, r.index, b.items); err != nil {
		if errors.Is(err, vector.ErrInvalid) {
			return kit.BadRequest("%v", err)
		}
		return fmt.Errorf("embed: add %d items to %q: %w", len(b.items), r.index, err)
	}
	for i, it := range b.items {
		r.state.Rows[it.ID] = b.hashes[i]
	}
	r.sum.Embedded += int64(len(b.items))
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
