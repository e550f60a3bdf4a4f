package storage

import (
	"context"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"strings"
)

// Errors the public routes map to statuses; backends and the catalog's
// reference checker wrap them.
var (
	// ErrReserved: the key belongs to a module (internal state, Iceberg
	// metadata, an internal dataset); the public API may not touch it (403).
	ErrReserved = kit.NewKind(http.StatusForbidden, "reserved", "reserved for internal use")
	// ErrReferenced: a registered dataset version points at the object, so
	// the public API may read it but not overwrite or delete it (409).
	ErrReferenced = kit.NewKind(http.StatusConflict, "referenced", "object is referenced by a registered dataset version")
	// ErrConflict: the key clashes with the store's layout, e.g. an object
	// "a/b" and an object "a/b/c" cannot both exist on local disk (409).
	ErrConflict = kit.NewKind(http.StatusConflict, "key_conflict", "key conflicts with an existing object")
)

// DatasetsPrefix is where dataset parts live: datasets/<name>/...; the
// catalog owns it.
const DatasetsPrefix = "datasets/"

// metadataSegment is datasets/<name>/metadata/: a table format's metadata
// (Iceberg), written only by the catalog.
const metadataSegment = "metadata"

// CheckPublicKey reports whether a caller of the public storage API may
// touch key at all, for reads as well as writes. Keys whose first segment
// starts with "_" (_catalog/, _vectors/, _observer/, ...) are module
// state, and datasets/<name>/metadata/ is the catalog's; both are
// reserved. Modules write them through Store directly, never through the
// routes, so this check is the public API's alone.
func CheckPublicKey(key string) error {
	if strings.HasPrefix(key, "_") {
		first, _, _ := strings.Cut(key, "/")
		return fmt.Errorf("%w: %q is under %q, which belongs to the server's modules", ErrReserved, key, first+"/")
	}
	if rest, ok := strings.CutPrefix(key, DatasetsPrefix); ok {
		name, rest, _ := strings.Cut(rest, "/")
		if seg, _, _ := strings.Cut(rest, "/"); seg == metadataSegment {
			return fmt.Errorf("%w: %q is under %s%s/%s/, which the catalog owns", ErrReserved, key, DatasetsPrefix, name, metadataSegment)
		}
	}
	return nil
}

// CheckPublicPrefix is CheckPublicKey for a listing prefix: a prefix that
// lies wholly inside a reserved area is refused; a broader prefix is
// allowed, and the listing hides the reserved keys it meets.
func CheckPublicPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if strings.HasPrefix(prefix, "_") {
		return CheckPublicKey(prefix)
	}
	if rest, ok := strings.CutPrefix(prefix, DatasetsPrefix); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok && strings.HasPrefix(after, metadataSegment+"/") {
			return CheckPublicKey(prefix)
		}
	}
	return nil
}

// ReferenceChecker is provided in the container by the module that owns
// datasets/ (the catalog, which depends on storage, so storage cannot
// import it). The public routes ask it before every overwrite or delete.
type ReferenceChecker interface {
	// CheckMutable returns nil when the public API may write or delete
	// key; otherwise an error wrapping ErrReserved (an internal dataset's
	// key) or ErrReferenced (naming the dataset and version).
	CheckMutable(ctx context.Context, key string) error
}
