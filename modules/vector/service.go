package vector

import (
	"context"
	"lakehouse/modules/kit"
	"net/http"
)

// Errors callers match with errors.Is; each carries its HTTP answer.
var (
	ErrIndexNotFound = kit.NewKind(http.StatusNotFound, "not_found", "index not found")
	ErrIndexExists   = kit.NewKind(http.StatusConflict, "index_exists", "index already exists")
	ErrInvalid       = kit.NewKind(http.StatusBadRequest, "bad_request", "invalid request") // dim mismatch, NaN, bad filter...
	// ErrTooLarge: more items than vector.max_batch_items and the like;
	// such errors also match ErrInvalid.
	ErrTooLarge = kit.NewKind(http.StatusRequestEntityTooLarge, "too_large", "request too large")
)

// IndexSpec creates an index.
type IndexSpec struct {
	Name           string `json:"name"`
	Dim            int    `json:"dimension"`
	Metric         string `json:"distance"` // cosine, dot, l2 (euclidean accepted)
	M              int    `json:"m"`
	EfConstruction int    `json:"ef_construction"`
	EfSearch       int    `json:"ef_search"`
	// TargetRecall, when set (0.5–0.999), makes searches that give no ef
	// use the smallest ef whose recall@10, measured on a sample of the
	// index's own items against exact search, reaches it (see tune.go).
	TargetRecall float64 `json:"target_recall,omitempty"`
	// Model is the embedding model whose vectors the index holds, when
	// items are added as text (set by the server from embed).
	Model string `json:"model,omitempty"`
	// Quantization is "int8" for an index that stores int8 codes (a
	// per-vector scale each) and walks its graph on them; "" is float32.
	Quantization string `json:"quantization,omitempty"`
	// Rescore, for int8, is "memory" to keep a float32 copy of every
	// vector and re-rank candidates with it, "disk" to keep that copy in a
	// local file instead (read only for the candidates re-ranked; memory
	// stays at ≈ 0.26×), or "none" (the default) to re-rank against the
	// dequantized codes.
	Rescore string `json:"rescore,omitempty"`
	// Dataset is the dataset the index was built from (set by the
	// indexer). Callers not granted it do not see the index: its items'
	// texts and metadata are that dataset's rows.
	Dataset string `json:"dataset,omitempty"`
}

// IndexInfo describes an index.
type IndexInfo struct {
	IndexSpec
	Length      int   `json:"length"`
	MemoryBytes int64 `json:"memory_bytes"`
	// Quantization is the vectors' storage, float32 or int8 (it shadows
	// the spec's field, which is omitted for float32).
	Quantization string `json:"quantization"`
	// VectorMemoryBytes is the part of MemoryBytes holding vectors (codes,
	// scales and any float32 rescoring copy kept in memory).
	VectorMemoryBytes int64 `json:"vector_memory_bytes"`
	// RescoreDiskBytes is the size of the local file holding the float32
	// copies of a "rescore": "disk" index (0 for the others).
	RescoreDiskBytes int64 `json:"rescore_disk_bytes"`
	// KeywordDocs counts the items with text, which keyword and hybrid
	// search find.
	KeywordDocs int `json:"keyword_docs"`
	// EfTuned is the ef chosen for TargetRecall (0: not tuned yet), the
	// recall it measured, and the index length it was measured at.
	EfTuned       int     `json:"ef_search_tuned,omitempty"`
	TunedRecall   float64 `json:"tuned_recall,omitempty"`
	TunedAtLength int     `json:"tuned_at_length,omitempty"`
	// Quarantined counts the index's objects set aside at start-up
	// because they could not be applied (see the module's warnings).
	Quarantined int `json:"quarantined,omitempty"`
}

// Item is one vector with its id and flat metadata. Text may replace
// Vector when the index has a model (the server embeds it); given with or
// without a vector, it is kept and indexed for keyword search. Metadata
// nil keeps an existing item's metadata on upsert; an empty map clears it.
// Text follows the vector: an upsert with the same vector and no text
// keeps the old text, one with a new vector replaces it (or clears it).
type Item struct {
	ID       string         `json:"id"`
	Vector   []float32      `json:"vector,omitempty"`
	Text     string         `json:"text,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// SearchRequest is a k-NN query with an optional metadata filter
// (equality, {"$in":[...]}, {"$gte":n,"$lte":n}, ANDed), in one of three
// modes: vector (default), keyword (BM25 on the items' text) or hybrid
// (both, fused by reciprocal rank fusion). The filter applies to every
// mode before ranking.
type SearchRequest struct {
	Vector []float32      `json:"vector,omitempty"`
	Text   string         `json:"text,omitempty"`
	K      int            `json:"k"`
	Ef     int            `json:"ef,omitempty"`
	Filter map[string]any `json:"filter,omitempty"`
	// Mode is "vector" (default), "keyword" or "hybrid".
	Mode string `json:"mode,omitempty"`
	// Explain adds each result's ranks, distance, BM25 score and matched
	// terms.
	Explain bool `json:"explain,omitempty"`
	// Facets names metadata keys whose values are counted over the
	// matches (SearchResponse.Facets).
	Facets []string `json:"facets,omitempty"`
	// RRFK is reciprocal rank fusion's k (hybrid; 0 = 60).
	RRFK int `json:"rrf_k,omitempty"`
	// Weights scale each side of hybrid fusion (default 1 each).
	Weights *Weights `json:"weights,omitempty"`
	// Candidates is how many results each side of a hybrid search ranks
	// before fusion (0 = max(k, 50)).
	Candidates int `json:"candidates,omitempty"`
}

// Result is one hit. In vector mode results ascend by Distance (cosine
// distance = 1 − cos) and Score is the similarity; in keyword mode Score
// is the BM25 score, in hybrid mode the fused score, both descending.
type Result struct {
	ID       string         `json:"id"`
	Distance float32        `json:"distance"`
	Score    float32        `json:"score"`
	Metadata map[string]any `json:"metadata"` // {} when the item has none
	// Explain is set when the request asked for it.
	Explain *Explanation `json:"explain,omitempty"`
	// noDistance: a keyword result without a query vector (no distance).
	noDistance bool
}

// Service is the vector module's interface for other modules (pathway,
// observer workflows, MCP).
type Service interface {
	Create(ctx context.Context, spec IndexSpec) (IndexInfo, error)
	Info(ctx context.Context, name string) (IndexInfo, error)
	List(ctx context.Context) ([]IndexInfo, error)
	Drop(ctx context.Context, name string) error
	// Add validates the whole batch before applying any of it, and returns
	// once the batch is durable.
	Add(ctx context.Context, name string, items []Item) error
	Delete(ctx context.Context, name string, ids []string) error
	Search(ctx context.Context, name string, req SearchRequest) ([]Result, error)
}

// Querier is implemented by the vector module's Service: a search's whole
// answer, facet counts included. Callers that need facets type-assert
// their Service to it.
type Querier interface {
	Query(ctx context.Context, name string, req SearchRequest) (SearchResponse, error)
}
