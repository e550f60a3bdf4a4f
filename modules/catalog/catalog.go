// Package catalog is the registry of datasets: named, versioned Parquet
// manifests, persisted in the metadata database and as manifest objects
// in storage (so the catalog can be rebuilt from the bucket alone).
package catalog

import (
	"context"
	"lakehouse/modules/kit"
	"net/http"
	"time"
)

// Errors callers match with errors.Is; each carries its HTTP answer, so
// every route that meets one (catalog, ingest, indexer) answers alike.
var (
	ErrNotFound            = kit.NewKind(http.StatusNotFound, "not_found", "dataset not found")
	ErrInvalidName         = kit.NewKind(http.StatusBadRequest, "invalid_name", "invalid dataset name")
	ErrSchemaDrift         = kit.NewKind(http.StatusConflict, "schema_drift", "schema drift") // details in *DriftError
	ErrIdempotencyConflict = kit.NewKind(http.StatusConflict, "idempotency_conflict", "idempotency key reused with different content")
	ErrExpired             = kit.NewKind(http.StatusGone, "version_expired", "version expired under the dataset's retention")
	ErrRetry               = kit.NewKind(http.StatusServiceUnavailable, "retry", "write raced with maintenance")
	// ErrBaseMoved: a request built on a version (RegisterRequest.BaseVersion)
	// that is no longer the latest; the caller rebuilds it on the new one.
	ErrBaseMoved = kit.NewKind(http.StatusConflict, "base_moved", "the dataset changed while the request was built")
)

// Column is one column of a dataset's schema. Type is a DuckDB type name
// (BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP, VARCHAR, ...).
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// File is one Parquet part of a version.
type File struct {
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
	// KeyRange is the part's least and greatest value of its dataset's
	// key's first column, kept by upserts so the next one prunes parts
	// without reading their footers (a GET each on a bucket).
	KeyRange *KeyRange `json:"key_range,omitempty"`
	// KeyFilter describes a filter of the part's keys stored beside it
	// (KeyFilterObject), which prunes parts min/max cannot (keys in no
	// order, such as emails): a part whose filter holds none of an
	// upsert's keys is kept without being read.
	KeyFilter *KeyFilter `json:"key_filter,omitempty"`
}

// KeyFilter is a Bloom filter over a part's whole keys (every key column,
// cast to the dataset's types, as text), stored in the object named by
// KeyFilterObject. A reader uses it only when Columns and Types equal the
// dataset's key as declared now; otherwise the part is read.
type KeyFilter struct {
	Columns []string `json:"columns"`
	Types   []string `json:"types"`
	Bits    int64    `json:"bits"`   // m, a power of two
	Hashes  int      `json:"hashes"` // k
}

// KeyFilterSuffix ends the key of a part's key filter object.
const KeyFilterSuffix = ".keys"

// KeyFilterObject is the object key of the key filter of the part at
// partKey. It lives and dies with its part: sweeps delete a filter whose
// part is gone, and erasure deletes the filters of the parts it replaces
// (a filter answers "might this key be here").
func KeyFilterObject(partKey string) string { return partKey + KeyFilterSuffix }

// KeyRange is the range of one column's values in a part, as text (the
// column's type reads it back).
type KeyRange struct {
	Column string `json:"column"`
	Min    string `json:"min"`
	Max    string `json:"max"`
}

// Manifest is one version of a dataset.
type Manifest struct {
	DatasetID         string    `json:"dataset_id"`
	Name              string    `json:"name"`
	Version           int       `json:"version"`
	Schema            []Column  `json:"schema"`
	SchemaFingerprint string    `json:"schema_fingerprint"`
	Files             []File    `json:"files"`
	RowCount          int64     `json:"row_count"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Source            string    `json:"source,omitempty"`
	IdempotencyKey    string    `json:"idempotency_key,omitempty"`
	// IdempotencyKeys lists every key of a version that group commit made
	// from several appends (IdempotencyKey is the first of them).
	IdempotencyKeys []string `json:"idempotency_keys,omitempty"`
	// Compacted marks a version maintenance made: the same rows as the
	// version before it in fewer parts.
	Compacted bool `json:"compacted,omitempty"`
	// Absorbed maps each part a compaction merged away to the part it
	// went into, so a replay of it is still recognised after a rebuild.
	Absorbed map[string]string `json:"absorbed,omitempty"`
	// Key is the dataset's declared key (its columns), set by the first
	// upsert or delete by key and kept while every column of it is: later
	// upserts default to it and the change feed pairs rows by it.
	Key []string `json:"key,omitempty"`
}

// RegisterRequest asks for a new version of a dataset.
type RegisterRequest struct {
	Name              string
	Schema            []Column
	SchemaFingerprint string // computed from Schema when empty
	Files             []File
	RowCount          int64
	Source            string
	IdempotencyKey    string
	// AllowSchemaChange permits a fingerprint different from the latest
	// version's (ingest mode=replace); otherwise that is ErrSchemaDrift.
	AllowSchemaChange bool
	// Owner is the module registering an internal dataset it reserved
	// (Store.Reserve); empty for every user request, which may then not
	// register a reserved name (ErrReserved).
	Owner string
	// Append adds Files to the latest version's files (ingest
	// mode=append) under the catalog's rules: when the latest version —
	// or, with an IdempotencyKey, the version registered with that key —
	// already holds every one of Files with the same schema, the request
	// is an idempotent replay of it (existing); a key whose version does
	// not hold them is ErrIdempotencyConflict. Nullability is the union
	// over the versions' columns.
	Append bool
	// FilesVerified says the caller wrote or checked every one of Files in
	// storage just now (ingest's publish), so the catalog does not Stat
	// them again. Never set from a client's request.
	FilesVerified bool
	// BaseVersion, when set, is the version the request was built on
	// (an upsert's or delete's rewritten file list): registering fails
	// with ErrBaseMoved unless it is still the latest. A replay with the
	// same idempotency key is recognised first.
	BaseVersion int
	// Key declares the dataset's key (see Manifest.Key); nil keeps the
	// latest version's.
	Key []string
	// IdempotencyContent, when set, is what a replay with the same
	// IdempotencyKey must match instead of the version's file list: an
	// upsert's new parts, which a replay converts to the same parts
	// whatever the dataset became meanwhile.
	IdempotencyContent string
}

// Change tells watchers that a dataset gained a version, lost old ones to
// gc, or was deleted. It carries what a watcher needs, so none has to
// call back into the catalog for it.
type Change struct {
	Name    string
	Version int // the new version; 0 when deleted or pruned
	Deleted bool
	// Manifest is the new version's manifest (when Version > 0).
	Manifest *Manifest
	// Pruned lists the versions gc removed (KeepVersions), oldest first.
	Pruned []int
	// Rewritten holds versions whose files erasure replaced in place
	// (same numbers, fewer rows): readers of those versions must reload.
	Rewritten []Manifest
}

// Catalog is the dataset registry other modules use.
type Catalog interface {
	// Register records a new version, or returns the existing manifest
	// with existing=true when the same content (idempotency key, or same
	// files and schema) was registered before.
	Register(ctx context.Context, req RegisterRequest) (m Manifest, existing bool, err error)
	// Get returns the latest version of a dataset.
	Get(ctx context.Context, name string) (Manifest, error)
	// GetVersion returns one version.
	GetVersion(ctx context.Context, name string, version int) (Manifest, error)
	// Versions returns every version, oldest first.
	Versions(ctx context.Context, name string) ([]Manifest, error)
	// List returns the latest version of every live dataset, by name.
	List(ctx context.Context) ([]Manifest, error)
	// Prepare is a writer's one call before it builds a version of name
	// (ingest): an error when a user request may not write name (invalid,
	// internal), else the latest live version, nil for a new dataset.
	Prepare(ctx context.Context, name string) (*Manifest, error)
	// Delete hides a dataset from List and SQL (files stay until gc).
	Delete(ctx context.Context, name string) error
	// Watch calls fn after every committed change (from any goroutine)
	// until the returned function is called.
	Watch(fn func(Change)) (unwatch func())
}
