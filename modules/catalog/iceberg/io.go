package iceberg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/minio/minio-go/v7"

	"lakehouse/modules/storage"
)

// storeIO is iceberg-go's FileIO over lakehouse's storage.Store, so
// Iceberg metadata is written with the same atomic, durable Put as every
// other object (temp file + fsync + rename on disk, one PUT on S3) and
// read back without a second set of credentials. Paths are the absolute
// URIs Iceberg stores (root + "/" + key).
type storeIO struct {
	store storage.Store
	root  string // "file:///abs/objects" or "s3://bucket", no trailing slash
	ctx   context.Context
}

var (
	_ icebergio.WriteFileIO = (*storeIO)(nil)
	_ icebergio.ReadFileIO  = (*storeIO)(nil)
)

// rootURI is the absolute URI prefix of every key in store.
func rootURI(store storage.Store) (string, error) {
	if lp, ok := store.(storage.LocalPather); ok {
		return "file://" + strings.TrimSuffix(lp.Root(), "/"), nil
	}
	if b, ok := store.(interface{ Bucket() string }); ok {
		return "s3://" + b.Bucket(), nil
	}
	return "", fmt.Errorf("iceberg: storage backend %T has no absolute URI (need local or s3)", store)
}

// key maps an absolute Iceberg path back to a storage key.
func (s *storeIO) key(name string) (string, error) {
	k, ok := strings.CutPrefix(name, s.root+"/")
	if !ok {
		return "", fmt.Errorf("iceberg: path %q is outside the store (%s)", name, s.root)
	}
	return k, nil
}

// Open implements icebergio.IO with random access (Parquet footers, Avro).
func (s *storeIO) Open(name string) (icebergio.File, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	if lp, ok := s.store.(storage.LocalPather); ok {
		p, err := lp.LocalPath(key)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("iceberg: %s: %w", key, fs.ErrNotExist)
		}
		return f, err
	}
	if m, ok := s.store.(interface {
		Client() *minio.Client
		Bucket() string
	}); ok {
		info, err := s.store.Stat(s.ctx, key)
		if err != nil {
			return nil, mapNotFound(key, err)
		}
		obj, err := m.Client().GetObject(s.ctx, m.Bucket(), key, minio.GetObjectOptions{})
		if err != nil {
			return nil, fmt.Errorf("iceberg: open %s: %w", key, err)
		}
		return &s3File{Object: obj, info: fileInfo{name: key, size: info.Size, mod: info.Modified}}, nil
	}
	data, err := s.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: fileInfo{name: key, size: int64(len(data))}}, nil
}

// ReadFile implements icebergio.ReadFileIO.
func (s *storeIO) ReadFile(name string) ([]byte, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	rc, _, err := s.store.Get(s.ctx, key)
	if err != nil {
		return nil, mapNotFound(key, err)
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Remove implements icebergio.IO.
func (s *storeIO) Remove(name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	return s.store.Delete(s.ctx, key)
}

// WriteFile implements icebergio.WriteFileIO.
func (s *storeIO) WriteFile(name string, p []byte) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	_, err = s.store.Put(s.ctx, key, bytes.NewReader(p), int64(len(p)))
	return err
}

// Create implements icebergio.WriteFileIO: the bytes are buffered and put
// in one atomic write on Close (manifests are small).
func (s *storeIO) Create(name string) (icebergio.FileWriter, error) {
	if _, err := s.key(name); err != nil {
		return nil, err
	}
	return &bufWriter{io: s, name: name}, nil
}

func mapNotFound(key string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("iceberg: %s: %w", key, fs.ErrNotExist)
	}
	return err
}

type bufWriter struct {
	bytes.Buffer
	io     *storeIO
	name   string
	closed bool
}

func (w *bufWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.io.WriteFile(w.name, w.Bytes())
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
}

func (f fileInfo) Name() string       { return f.name[strings.LastIndexByte(f.name, '/')+1:] }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o444 }
func (f fileInfo) ModTime() time.Time { return f.mod }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

type s3File struct {
	*minio.Object
	info fileInfo
}

func (f *s3File) Stat() (fs.FileInfo, error) { return f.info, nil }

type memFile struct {
	*bytes.Reader
	info fileInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }
