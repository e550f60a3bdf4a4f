package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"lakehouse/config"
)

// S3 stores objects in one bucket of an S3-compatible service.
type S3 struct {
	client *minio.Client
	bucket string
}

var _ Store = (*S3)(nil)

// OpenS3 connects to the endpoint and checks the bucket, creating it when
// CreateBucket is set.
func OpenS3(ctx context.Context, cfg config.S3Config) (*S3, error) {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("storage: s3 %s: bucket %q: %w", cfg.Endpoint, cfg.Bucket, err)
	}
	if !exists {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("storage: s3 %s: bucket %q does not exist (create it or set [storage.s3] create_bucket = true)",
				cfg.Endpoint, cfg.Bucket)
		}
		if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("storage: s3 create bucket %q: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

// Client exposes the underlying minio client (for readers that need
// presigned URLs or ranged reads).
func (s *S3) Client() *minio.Client { return s.client }

// Bucket is the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// Put uploads the object; S3 makes it visible only when complete.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType(key)})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: up.Size, ETag: up.ETag, Modified: up.LastModified, ContentType: contentType(key)}, nil
}

// Get streams the object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, ObjectInfo{}, s.mapErr("get", key, err)
	}
	return obj, info, nil
}

// Stat describes the object.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.mapErr("stat", key, err)
	}
	return objectInfo(st), nil
}

// List pages through keys under prefix, after cursor.
func (s *S3) List(ctx context.Context, prefix, cursor string, limit int) (ListPage, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return ListPage{}, err
	}
	if limit <= 0 {
		limit = 1000
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine once the page is full
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, StartAfter: cursor, MaxKeys: min(limit+1, 1000)}
	var page ListPage
	page.Objects = []ObjectInfo{}
	for obj := range s.client.ListObjects(ctx, s.bucket, opts) {
		if obj.Err != nil {
			return ListPage{}, fmt.Errorf("storage: s3 list %q: %w", prefix, obj.Err)
		}
		if len(page.Objects) == limit {
			page.Cursor = page.Objects[limit-1].Key
			break
		}
		page.Objects = append(page.Objects, objectInfo(obj))
	}
	return page, nil
}

// Delete removes the object (missing is fine).
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.mapErr("delete", key, err)
	}
	return nil
}

func objectInfo(o minio.ObjectInfo) ObjectInfo {
	ct := o.ContentType
	if ct == "" {
		ct = contentType(o.Key)
	}
	return ObjectInfo{Key: o.Key, Size: o.Size, ETag: o.ETag, Modified: o.LastModified.UTC(), ContentType: ct}
}

func (s *S3) mapErr(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("storage: s3 %s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("storage: s3 %s %s: %w", op, key, err)
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
