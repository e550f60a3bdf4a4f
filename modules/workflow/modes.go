package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/pathway"
	"lakehouse/modules/query"
	"lakehouse/modules/vector"
)

// need resolves a collaborator at run time, so a module that is not
// running fails the node with a clear message instead of the process.
func need[T any](c *kit.Container, mode, module string) (T, error) {
	v, ok := kit.Lookup[T](c)
	if !ok {
		return v, fmt.Errorf("mode %s needs the %s module, which is not running in this process", mode, module)
	}
	return v, nil
}

// registerServiceModes adds the built-in modes, each calling another
// module through its published interface, under the same limits that
// module's own routes apply.
func registerServiceModes(r *Runner, c *kit.Container) {
	cfg := c.Config()
	r.limitMode("sql", sqlSlots(r.cfg.MaxSQLNodes, cfg.Query.MaxConcurrent))
	embedLim := embedLimits{maxTexts: cfg.Embed.MaxTexts, maxBytes: int(cfg.Server.BodyLimit)}
	r.RegisterMode("sql", func(ctx context.Context, in Inputs) (any, error) {
		q, err := need[query.Querier](c, "sql", "query")
		if err != nil {
			return nil, err
		}
		return runSQL(ctx, q, in)
	})
	r.RegisterMode("embed", func(ctx context.Context, in Inputs) (any, error) {
		e, err := need[embed.Embedder](c, "embed", "embed")
		if err != nil {
			return nil, err
		}
		return runEmbed(ctx, e, in, embedLim)
	})
	r.RegisterMode("vector_search", func(ctx context.Context, in Inputs) (any, error) {
		v, err := need[vector.Service](c, "vector_search", "vector")
		if err != nil {
			return nil, err
		}
		return runVectorSearch(ctx, v, in)
	})
	r.RegisterMode("vector_add", func(ctx context.Context, in Inputs) (any, error) {
		v, err := need[vector.Service](c, "vector_add", "vector")
		if err != nil {
			return nil, err
		}
		return runVectorAdd(ctx, v, in)
	})
	r.RegisterMode("pathway_add", func(ctx context.Context, in Inputs) (any, error) {
		p, err := need[pathway.Store](c, "pathway_add", "pathway")
		if err != nil {
			return nil, err
		}
		return runPathwayAdd(ctx, p, in)
	})
	r.RegisterMode("pathway_search", func(ctx context.Context, in Inputs) (any, error) {
		p, err := need[pathway.Store](c, "pathway_search", "pathway")
		if err != nil {
			return nil, err
		}
		return runPathwaySearch(ctx, p, in)
	})
}

// runSQL: inputs sql, params?, limit? → columns, rows as objects keyed by
// column name (so "$q.output.rows.*.name" is a column), row_count, first.
func runSQL(ctx context.Context, q query.Querier, in Inputs) (any, error) {
	sql, err := in.String("sql")
	if err != nil {
		return nil, err
	}
	limit, err := in.Int("limit", 0)
	if err != nil {
		return nil, err
	}
	var params []any
	if v, ok := in["params"]; ok && v != nil {
		p, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("input %q must be a list, got %s", "params", kind(v))
		}
		params = p
	}
	res, err := q.Query(ctx, sql, params, limit)
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		cols[i] = c.Name
	}
	rows := make([]map[string]any, len(res.Rows))
	for i, row := range res.Rows {
		m := make(map[string]any, len(cols))
		for j, v := range row {
			if j < len(cols) {
				m[cols[j]] = v
			}
		}
		rows[i] = m
	}
	out := map[string]any{"columns": res.Columns, "rows": rows, "row_count": res.RowCount, "truncated": res.Truncated, "first": nil}
	if len(rows) > 0 {
		out["first"] = rows[0]
	}
	return out, nil
}

// sqlSlots is how many sql nodes may run at once across all runs: the
// configured number, or half the query pool (at least one), so
// interactive SQL always finds a connection.
func sqlSlots(configured, pool int) int {
	if configured > 0 {
		return configured
	}
	return max(1, pool/2)
}

// embedLimits are the limits POST /v1/embed applies: embed.max_texts
// texts, and no more text than its body may carry (server.body_limit).
type embedLimits struct {
	maxTexts int
	maxBytes int
}

// runEmbed: inputs texts (a list, or one string) or text → model,
// dimension, vectors, vector (the first).
func runEmbed(ctx context.Context, e embed.Embedder, in Inputs, lim embedLimits) (any, error) {
	key := "texts"
	if _, ok := in["texts"]; !ok {
		key = "text"
	}
	texts, err := in.Strings(key)
	if err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("input %q is empty: nothing to embed", key)
	}
	if lim.maxTexts > 0 && len(texts) > lim.maxTexts {
		return nil, fmt.Errorf("input %q: %d texts, at most %d in one node (embed.max_texts)", key, len(texts), lim.maxTexts)
	}
	total := 0
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("input %q[%d] is an empty text", key, i)
		}
		total += len(t)
		if lim.maxBytes > 0 && total > lim.maxBytes {
			return nil, fmt.Errorf("input %q: the texts up to [%d] hold more than %d bytes, the most one embed request may carry (server.body_limit)", key, i, lim.maxBytes)
		}
	}
	vecs, err := e.EmbedBatch(ctx, texts)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": e.Model(), "dimension": e.Dimension(), "vectors": vecs, "vector": vecs[0], "count": len(vecs)}, nil
}

// runVectorSearch: inputs index, vector or text, k? (10), filter?, ef? →
// results, ids, top (the nearest hit).
func runVectorSearch(ctx context.Context, v vector.Service, in Inputs) (any, error) {
	index, err := in.String("index")
	if err != nil {
		return nil, err
	}
	req := vector.SearchRequest{}
	if _, ok := in["vector"]; ok {
		if req.Vector, err = in.Vector("vector"); err != nil {
			return nil, err
		}
	} else if req.Text, err = in.String("text"); err != nil {
		return nil, fmt.Errorf("vector_search needs input %q or %q", "vector", "text")
	}
	if req.K, err = in.Int("k", 10); err != nil {
		return nil, err
	}
	if req.Ef, err = in.Int("ef", 0); err != nil {
		return nil, err
	}
	if req.Filter, err = in.Object("filter"); err != nil {
		return nil, err
	}
	res, err := v.Search(ctx, index, req)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	out := map[string]any{"results": res, "ids": ids, "count": len(res), "top": nil}
	if len(res) > 0 {
		out["top"] = res[0]
	}
	return out, nil
}

// runVectorAdd: inputs index, items [{id, vector|text, metadata}] → added.
func runVectorAdd(ctx context.Context, v vector.Service, in Inputs) (any, error) {
	index, err := in.String("index")
	if err != nil {
		return nil, err
	}
	raw, err := in.Raw("items")
	if err != nil || raw == nil {
		return nil, fmt.Errorf("input %q is required", "items")
	}
	var items []vector.Item
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("input %q: %w", "items", err)
	}
	if err := v.Add(ctx, index, items); err != nil {
		return nil, err
	}
	return map[string]any{"index": index, "added": len(items)}, nil
}

// runPathwayAdd: inputs content (any JSON), tags?, kind?, uid? (then an
// idempotent add) → the stored trace.
func runPathwayAdd(ctx context.Context, p pathway.Store, in Inputs) (any, error) {
	content, err := in.Raw("content")
	if err != nil {
		return nil, err
	}
	if content == nil {
		return nil, fmt.Errorf("input %q is required", "content")
	}
	nt := pathway.NewTrace{Content: content}
	if _, ok := in["tags"]; ok {
		if nt.Tags, err = in.Strings("tags"); err != nil {
			return nil, err
		}
	}
	if nt.Kind, err = in.OptString("kind", ""); err != nil {
		return nil, err
	}
	uid, err := in.OptString("uid", "")
	if err != nil {
		return nil, err
	}
	if uid != "" {
		t, replayed, err := p.AddIdempotent(ctx, uid, nt)
		if err != nil {
			return nil, err
		}
		return map[string]any{"trace": t, "uid": t.UID, "replayed": replayed}, nil
	}
	t, err := p.Add(ctx, nt)
	if err != nil {
		return nil, err
	}
	return map[string]any{"trace": t, "uid": t.UID, "replayed": false}, nil
}

// runPathwaySearch: inputs text?, kind?, tags?, limit?, since_ns?,
// until_ns? → hits, uids, count.
func runPathwaySearch(ctx context.Context, p pathway.Store, in Inputs) (any, error) {
	raw, err := json.Marshal(map[string]any(in))
	if err != nil {
		return nil, err
	}
	var q pathway.Query
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil, fmt.Errorf("pathway_search inputs: %w", err)
	}
	hits, err := p.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	uids := make([]string, len(hits))
	for i, h := range hits {
		uids[i] = h.UID
	}
	return map[string]any{"hits": hits, "uids": uids, "count": len(hits)}, nil
}
