package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/minio/minio-go/v7"
)

// ErrPreconditionFailed is a conditional write's refusal: the object was
// there when it had to be absent, or had changed since the ETag given.
var ErrPreconditionFailed = errors.New("precondition failed")

// Conditional is implemented by stores that write an object only if it is
// absent, or only if it is unchanged: the compare-and-swap a writer lease
// and fenced commits are built on, without another service (S3 and MinIO
// answer If-None-Match / If-Match on PUT with 412).
type Conditional interface {
	// PutIfAbsent writes key only if no object has it; otherwise it
	// returns ErrPreconditionFailed and writes nothing.
	PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)
	// PutIfMatch replaces key only if its ETag is still etag; otherwise
	// (changed or gone) it returns ErrPreconditionFailed.
	PutIfMatch(ctx context.Context, key string, r io.Reader, size int64, etag string) (ObjectInfo, error)
}

var (
	_ Conditional = (*S3)(nil)
	_ Conditional = (*Local)(nil)
)

// PutIfAbsent implements Conditional with If-None-Match: *.
func (s *S3) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	opts := minio.PutObjectOptions{ContentType: contentType(key)}
	opts.SetMatchETagExcept("*")
	return s.putIf(ctx, key, r, size, opts, false)
}

// PutIfMatch implements Conditional with If-Match: etag.
func (s *S3) PutIfMatch(ctx context.Context, key string, r io.Reader, size int64, etag string) (ObjectInfo, error) {
	if etag == "" {
		return ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w (no ETag to match)", key, ErrPreconditionFailed)
	}
	opts := minio.PutObjectOptions{ContentType: contentType(key)}
	opts.SetMatchETag(etag)
	return s.putIf(ctx, key, r, size, opts, true)
}

func (s *S3) putIf(ctx context.Context, key string, r io.Reader, size int64, opts minio.PutObjectOptions, ifMatch bool) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts)
	if err != nil {
		resp := minio.ToErrorResponse(err)
		// A missing object under If-Match is 404 on some servers, 412 on
		// others: either way the condition did not hold.
		if resp.StatusCode == http.StatusPreconditionFailed || resp.Code == "PreconditionFailed" ||
			(ifMatch && (resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey")) {
			return ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w", key, ErrPreconditionFailed)
		}
		return ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: up.Size, ETag: up.ETag, Modified: up.LastModified, ContentType: contentType(key)}, nil
}

// condMu serialises the conditional writes of every Local store in the
// process: a data dir belongs to one process (its lock file), so a
// process-wide mutex is the compare-and-swap.
var condMu sync.Mutex

// PutIfAbsent implements Conditional.
func (l *Local) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	condMu.Lock()
	defer condMu.Unlock()
	if _, err := l.Stat(ctx, key); err == nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w (it exists)", key, ErrPreconditionFailed)
	} else if !errors.Is(err, ErrNotFound) {
		return ObjectInfo{}, err
	}
	return l.Put(ctx, key, r, size)
}

// PutIfMatch implements Conditional.
func (l *Local) PutIfMatch(ctx context.Context, key string, r io.Reader, size int64, etag string) (ObjectInfo, error) {
	condMu.Lock()
	defer condMu.Unlock()
	st, err := l.Stat(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w (it is gone)", key, ErrPreconditionFailed)
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	if etag == "" || st.ETag != etag {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w (it changed)", key, ErrPreconditionFailed)
	}
	return l.Put(ctx, key, r, size)
}
