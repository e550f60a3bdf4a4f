// Package storage is lakehouse's object I/O: a Store interface with a
// local-disk backend (the embedded default) and an S3 backend (minio-go),
// key validation, limits and the /v1/storage routes.
package storage

import (
	"context"
	"fmt"
	"io"
	"lakehouse/modules/kit"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned for a key that holds no object.
var ErrNotFound = kit.NewKind(http.StatusNotFound, "not_found", "object not found")

// ErrInvalidKey wraps every key validation failure.
var ErrInvalidKey = kit.NewKind(http.StatusBadRequest, "bad_request", "invalid key")

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 1024

// MaxSegmentLen is the longest "/"-separated segment accepted, in bytes:
// the local backend stores a segment as a file or directory name, and
// common file systems (ext4, xfs, APFS, NTFS) stop at 255 bytes. Both
// backends apply it so a key valid on S3 stays valid on local disk.
const MaxSegmentLen = 255

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ETag        string    `json:"etag"`
	Modified    time.Time `json:"modified"`
	ContentType string    `json:"content_type,omitempty"`
}

// ListPage is one page of a listing; Cursor is "" on the last page.
type ListPage struct {
	Objects []ObjectInfo `json:"objects"`
	Cursor  string       `json:"cursor,omitempty"`
}

// Store is object I/O over one bucket (or one directory). Every method
// validates its key. Writes are atomic: a reader sees the old object or
// the whole new one, never a partial object.
type Store interface {
	// Put writes r under key. size is the exact length, or -1 if unknown.
	Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)
	// Get opens the object for reading; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns up to limit objects whose keys start with prefix, in
	// key order, starting after cursor (a previous page's Cursor).
	List(ctx context.Context, prefix, cursor string, limit int) (ListPage, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// LocalPather is implemented by stores whose objects are plain files, so
// readers such as DuckDB can open them directly.
type LocalPather interface {
	// LocalPath returns the file holding key.
	LocalPath(key string) (string, error)
	// Root is the directory every object lives under.
	Root() string
}

// ValidateKey rejects keys that could escape the store or confuse a
// backend: empty, longer than MaxKeyLen, a leading "/", a "." or ".."
// segment, an empty segment, a segment longer than MaxSegmentLen, NUL or
// any control character, or invalid UTF-8.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes is longer than %d", ErrInvalidKey, len(key), MaxKeyLen)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q starts with /", ErrInvalidKey, key)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.Contains(key, "\\"):
		return fmt.Errorf("%w: %q contains a backslash", ErrInvalidKey, key)
	}
	for i, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character %U at byte %d", ErrInvalidKey, r, i)
		}
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		case seg == "" && i < len(segs)-1:
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case len(seg) > MaxSegmentLen:
			return fmt.Errorf("%w: segment %d is %d bytes, longer than %d (%.40q...)", ErrInvalidKey, i+1, len(seg), MaxSegmentLen, seg)
		}
	}
	if strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w: %q ends with / (that is a prefix, not an object)", ErrInvalidKey, key)
	}
	return nil
}

// ValidatePrefix checks a listing prefix: like a key, but it may be empty
// and may end with "/".
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/") + "/x")
}
