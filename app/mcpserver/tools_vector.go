package mcpserver

import (
	"context"
	"fmt"
	"lakehouse/modules/kit"
	"net/url"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type indexDoc struct {
	Name     string `json:"name" jsonschema:"index name, for search_vectors"`
	Dim      int    `json:"dimension" jsonschema:"vector dimension"`
	Metric   string `json:"distance" jsonschema:"distance metric: cosine, dot or l2"`
	Model    string `json:"model,omitempty" jsonschema:"embedding model when the index embeds text itself"`
	Length   int    `json:"length" jsonschema:"items in the index"`
	EfSearch int    `json:"ef_search,omitempty" jsonschema:"default search breadth"`
	Memory   int64  `json:"memory_bytes,omitempty" jsonschema:"memory the index holds"`
}

type listIndexesDoc struct {
	Indexes []indexDoc `json:"indexes" jsonschema:"every vector index"`
	Count   int        `json:"count" jsonschema:"number of indexes"`
}

type hitDoc struct {
	ID       string         `json:"id" jsonschema:"item id; for an index built by index_dataset, the row's id column value"`
	Distance float64        `json:"distance" jsonschema:"distance to the query, ascending"`
	Score    float64        `json:"score" jsonschema:"similarity, higher is closer"`
	Metadata map[string]any `json:"metadata" jsonschema:"the item's metadata (the dataset columns chosen at indexing)"`
	Fields   map[string]any `json:"fields,omitempty" jsonschema:"the dataset columns asked for with fields, from the hit's row"`
}

type searchDoc struct {
	Results []hitDoc `json:"results" jsonschema:"hits, best first"`
}

type indexRunDoc struct {
	Index        string  `json:"index" jsonschema:"index name"`
	Dataset      string  `json:"dataset" jsonschema:"dataset indexed"`
	Version      int     `json:"version" jsonschema:"dataset version indexed"`
	Model        string  `json:"model" jsonschema:"embedding model"`
	Dimension    int     `json:"dimension" jsonschema:"vector dimension"`
	CreatedIndex bool    `json:"created_index" jsonschema:"true when this run created the index"`
	Total        int64   `json:"total" jsonschema:"rows in the dataset version"`
	Processed    int64   `json:"processed" jsonschema:"rows read"`
	Embedded     int64   `json:"embedded" jsonschema:"new or changed rows embedded and added"`
	Unchanged    int64   `json:"unchanged" jsonschema:"rows already indexed with the same text"`
	Empty        int64   `json:"empty" jsonschema:"rows with no text (skipped)"`
	Removed      int64   `json:"removed" jsonschema:"ids gone from the dataset, removed from the index"`
	ElapsedMS    float64 `json:"elapsed_ms" jsonschema:"run time"`
}

type indexIn struct {
	Index           string   `json:"index" jsonschema:"vector index to create or update (created with the lakehouse's embedding model when missing)"`
	Dataset         string   `json:"dataset" jsonschema:"dataset to index (latest version)"`
	IDColumn        string   `json:"id_column" jsonschema:"column whose value becomes the item id (unique per row)"`
	TextColumns     []string `json:"text_columns" jsonschema:"columns whose text is joined and embedded"`
	MetadataColumns []string `json:"metadata_columns,omitempty" jsonschema:"columns kept as metadata, filterable in search_vectors"`
	BatchSize       int      `json:"batch_size,omitempty" jsonschema:"rows per embedding batch (default 256, 1..2048)"`
	Follow          bool     `json:"follow,omitempty" jsonschema:"keep the index in step with the dataset afterwards: later versions (appends, upserts, deletes) re-embed only the rows that changed"`
}

// searchInput is search_vectors' schema. It is written out rather than
// inferred so that it accepts fields it does not name: the search API
// grows (modes, options) and the tool passes them through.
func searchInput() *jsonschema.Schema {
	str := func(d string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: d} }
	integer := func(d string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "integer", Minimum: ptr(0.0), Description: d}
	}
	return &jsonschema.Schema{
		Type:     "object",
		Required: []string{"index"},
		Properties: map[string]*jsonschema.Schema{
			"index": str("vector index name, from list_vector_indexes"),
			"text":  str("query text; the server embeds it with the index's model (give text or vector)"),
			"vector": {Type: "array", Items: &jsonschema.Schema{Type: "number"},
				Description: "query vector instead of text, of the index's dimension"},
			"k":  integer("number of hits (default 10)"),
			"ef": integer("search breadth (higher: better recall, slower; default: the index's ef_search)"),
			"filter": {Type: "object", Description: "metadata filter: {\"city\":\"Chicago\"} (equality), " +
				"{\"years\":{\"$gte\":5}} ($eq $ne $gt $gte $lt $lte $in $nin), several keys must all match"},
			"mode": {Type: "string", Enum: []any{"hybrid", "vector", "keyword"},
				Description: "hybrid (default with text: meaning and exact terms such as OSHA-30 fused), vector (meaning only), keyword (terms only)"},
			"explain": {Type: "boolean", Description: "add to each hit why it ranked: its vector and keyword ranks and scores"},
			"facets": {Type: "array", Items: &jsonschema.Schema{Type: "string"},
				Description: "metadata keys to count values of over the matching items, e.g. [\"city\"]"},
			"fields": {Type: "array", Items: &jsonschema.Schema{Type: "string"},
				Description: "dataset columns to return with each hit (with dataset and id_column: the index's source), so no query_sql is needed to check them"},
			"dataset":   str("with fields: the dataset the index was built from"),
			"id_column": str("with fields: the dataset column holding the hit ids"),
		},
		// Other search options of the HTTP API are passed through as given.
		AdditionalProperties: &jsonschema.Schema{},
	}
}

func ptr[T any](v T) *T { return &v }

// maxHitFields bounds the columns a search returns with each hit.
const maxHitFields = 32

// hitJoin is search_vectors' request for dataset columns with its hits.
type hitJoin struct {
	dataset, idColumn string
	fields            []string
}

// hitFieldsRequest reads fields, dataset and id_column (nil when no fields
// are asked for).
func hitFieldsRequest(in map[string]any) (*hitJoin, error) {
	raw, ok := in["fields"].([]any)
	if !ok || len(raw) == 0 {
		return nil, nil
	}
	j := &hitJoin{}
	j.dataset, _ = in["dataset"].(string)
	j.idColumn, _ = in["id_column"].(string)
	if j.dataset == "" || j.idColumn == "" {
		return nil, fmt.Errorf("fields needs dataset and id_column: the dataset the index was built from and its id column")
	}
	if len(raw) > maxHitFields {
		return nil, fmt.Errorf("at most %d fields, got %d", maxHitFields, len(raw))
	}
	for _, f := range raw {
		name, ok := f.(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("fields: column names as strings")
		}
		j.fields = append(j.fields, name)
	}
	return j, nil
}

// addHitFields looks the hits' rows up in one SQL statement and adds the
// asked columns to each hit as "fields" (a hit whose id the dataset no
// longer holds gets none).
func (h *handler) addHitFields(ctx context.Context, j *hitJoin, out map[string]any) error {
	hits, _ := out["results"].([]any)
	if len(hits) == 0 {
		return nil
	}
	ids := make([]any, 0, len(hits))
	marks := make([]string, 0, len(hits))
	for _, hit := range hits {
		if m, ok := hit.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(m["id"]))
			marks = append(marks, "?")
		}
	}
	cols := make([]string, len(j.fields))
	for i, f := range j.fields {
		cols[i] = quoteIdent(f)
	}
	sql := fmt.Sprintf("SELECT CAST(%s AS VARCHAR) AS _id, %s FROM %s WHERE CAST(%s AS VARCHAR) IN (%s)",
		quoteIdent(j.idColumn), strings.Join(cols, ", "), quoteIdent(j.dataset), quoteIdent(j.idColumn), strings.Join(marks, ", "))
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if err := h.api.Call(ctx, "POST", "/v1/sql", map[string]any{"sql": sql, "params": ids, "limit": len(ids) * 4}, &res); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	byID := make(map[string]map[string]any, len(res.Rows))
	for _, row := range res.Rows {
		if len(row) != len(j.fields)+1 {
			continue
		}
		f := make(map[string]any, len(j.fields))
		for i, name := range j.fields {
			f[name] = row[i+1]
		}
		byID[fmt.Sprint(row[0])] = f
	}
	for _, hit := range hits {
		if m, ok := hit.(map[string]any); ok {
			if f, ok := byID[fmt.Sprint(m["id"])]; ok {
				m["fields"] = f
			}
		}
	}
	return nil
}

func (h *handler) addVectorTools(s *mcp.Server) {
	addTool(s, h, toolSpec{
		name: "list_vector_indexes", title: "List vector indexes", readOnly: true, idempotent: true,
		description: "List the vector indexes search_vectors can search: name, dimension, metric, model and item count. Internal indexes (names starting with _, such as the memory's) are left out unless include_internal is true.",
		hint:        "search one index",
		output:      schemaFor[listIndexesDoc](),
	}, func(ctx context.Context, _ *call, in listIn) (map[string]any, error) {
		var out map[string]any
		if err := h.api.Call(ctx, "GET", "/v1/vectors/index", nil, &out); err != nil {
			return nil, err
		}
		if !in.IncludeInternal {
			all, _ := out["indexes"].([]any)
			kept := make([]any, 0, len(all))
			for _, ix := range all {
				if m, ok := ix.(map[string]any); ok && strings.HasPrefix(fmt.Sprint(m["name"]), "_") {
					continue
				}
				kept = append(kept, ix)
			}
			out["indexes"], out["count"] = kept, len(kept)
		}
		return out, nil
	})

	addTool(s, h, toolSpec{
		name: "search_vectors", title: "Semantic search", readOnly: true, idempotent: true,
		description: "Search a vector index: give text (hybrid by default: meaning plus exact terms) or a vector, k, and optionally a metadata filter such as {\"city\":\"Chicago\"} or {\"years\":{\"$gte\":5}}, mode, explain, facets and ef. Hits carry the item id (a row id for indexes built by index_dataset) and its metadata; confirm details with query_sql.",
		hint:        "lower k or add a filter",
		output:      schemaFor[searchDoc](),
		input:       searchInput(),
	}, func(ctx context.Context, _ *call, in map[string]any) (map[string]any, error) {
		index, _ := in["index"].(string)
		if index == "" {
			return nil, fmt.Errorf("index is required (see list_vector_indexes)")
		}
		body := make(map[string]any, len(in))
		for k, v := range in {
			switch k {
			case "index", "fields", "dataset", "id_column":
			default:
				body[k] = v
			}
		}
		join, err := hitFieldsRequest(in)
		if err != nil {
			return nil, err
		}
		if _, given := body["mode"]; !given && body["text"] != nil {
			// Hybrid by default: vector search alone ranks "OSHA-10" hits
			// among "OSHA-30" ones (4 of 20 in the demo); terms fix that.
			body["mode"] = "hybrid"
		}
		if k := intOf(body["k"]); k <= 0 {
			body["k"] = 10
		} else if k > h.opts.MaxRows {
			body["k"] = h.opts.MaxRows
		}
		var out map[string]any
		if err := h.api.Call(ctx, "POST", "/v1/vectors/index/"+url.PathEscape(index)+"/search", body, &out); err != nil {
			return nil, err
		}
		if join != nil {
			if err := h.addHitFields(ctx, join, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	})

	addTool(s, h, toolSpec{
		name: "index_dataset", needs: kit.RoleWriter, title: "Index a dataset for search", idempotent: true, reportsProgress: true,
		timeout:     h.opts.IndexTimeout,
		description: "Build or update a vector index from a dataset: embeds the text columns of every row (only new or changed rows on a re-run) under the row's id, with metadata columns for filtering. Reports progress (rows processed of total) when the client sends a progress token. Then search it with search_vectors.",
		hint:        "index a smaller dataset",
		output:      schemaFor[indexRunDoc](),
	}, func(ctx context.Context, c *call, in indexIn) (map[string]any, error) {
		if in.Index == "" {
			return nil, fmt.Errorf("index is required")
		}
		body := map[string]any{"dataset": in.Dataset, "id_column": in.IDColumn, "text_columns": in.TextColumns,
			"metadata_columns": in.MetadataColumns, "stream": true}
		if in.BatchSize > 0 {
			body["batch_size"] = in.BatchSize
		}
		if in.Follow {
			body["follow"] = true
		}
		var last map[string]any
		err := streamObjects(ctx, h.api, "POST", "/v1/vectors/index/"+url.PathEscape(in.Index)+"/from-dataset", body, func(line map[string]any) {
			last = line
			if line["event"] == "progress" {
				done, total := intOf(line["processed"]), intOf(line["total"])
				c.progress(ctx, float64(done), float64(total), fmt.Sprintf("%d of %d rows", done, total))
			}
		})
		if err != nil {
			return nil, err
		}
		if last == nil {
			return nil, fmt.Errorf("index_dataset: the server sent no answer")
		}
		if last["event"] == "error" {
			e, _ := last["error"].(map[string]any)
			return nil, fmt.Errorf("indexing stopped: %v", e["message"])
		}
		delete(last, "event")
		c.progress(ctx, float64(intOf(last["total"])), float64(intOf(last["total"])), "done")
		return last, nil
	})
}
