package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"lakehouse/internal/fsx"
)

// Local stores objects as files under a root directory. Writes go to a
// sibling temp directory, are fsynced, then renamed into place, so a crash
// never leaves a partial object visible.
type Local struct {
	root string
	tmp  string
}

var (
	_ Store       = (*Local)(nil)
	_ LocalPather = (*Local)(nil)
)

// OpenLocal opens (creating if needed) a local store rooted at root.
func OpenLocal(root string) (*Local, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage: local root %q: %w", root, err)
	}
	l := &Local{root: abs, tmp: abs + ".tmp"}
	for _, d := range []string{l.root, l.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("storage: create %s: %w", d, err)
		}
	}
	return l, nil
}

// Root implements LocalPather.
func (l *Local) Root() string { return l.root }

// LocalPath implements LocalPather.
func (l *Local) LocalPath(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// Put writes the object atomically (temp file, fsync, rename, fsync dir).
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	path, err := l.LocalPath(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, fsx.ContextReader(ctx, r))
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: write: %w", key, err)
	}
	if size >= 0 && n != size {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: got %d bytes, expected %d", key, n, size)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: fsync: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: close: %w", key, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: rename: %w", key, err)
	}
	committed = true
	if err := fsx.SyncDir(filepath.Dir(path)); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: fsync dir: %w", key, err)
	}
	return l.Stat(ctx, key)
}

// Get opens the object's file.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	path, err := l.LocalPath(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ObjectInfo{}, mapFSError(key, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, ObjectInfo{}, fmt.Errorf("storage: get %s: %w", key, ErrNotFound)
	}
	return f, l.info(key, st), nil
}

// Stat describes the object.
func (l *Local) Stat(_ context.Context, key string) (ObjectInfo, error) {
	path, err := l.LocalPath(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return ObjectInfo{}, mapFSError(key, err)
	}
	if st.IsDir() {
		return ObjectInfo{}, fmt.Errorf("storage: stat %s: %w", key, ErrNotFound)
	}
	return l.info(key, st), nil
}

// List walks the directory under prefix and pages through keys in order.
func (l *Local) List(ctx context.Context, prefix, cursor string, limit int) (ListPage, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return ListPage{}, err
	}
	if limit <= 0 {
		limit = 1000
	}
	// Walk from the deepest directory the prefix names, then filter.
	dir := l.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = filepath.Join(l.root, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) && key > cursor {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return ListPage{}, fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	sort.Strings(keys)
	var page ListPage
	if len(keys) > limit {
		keys = keys[:limit]
		page.Cursor = keys[limit-1]
	}
	page.Objects = make([]ObjectInfo, 0, len(keys))
	for _, k := range keys {
		info, err := l.Stat(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while listing
		}
		if err != nil {
			return ListPage{}, err
		}
		page.Objects = append(page.Objects, info)
	}
	return page, nil
}

// Delete removes the file and any directories it leaves empty.
func (l *Local) Delete(_ context.Context, key string) error {
	path, err := l.LocalPath(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	for d := filepath.Dir(path); d != l.root && strings.HasPrefix(d, l.root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break // not empty (or gone): stop climbing
		}
	}
	return nil
}

func (l *Local) info(key string, st fs.FileInfo) ObjectInfo {
	return ObjectInfo{
		Key:         key,
		Size:        st.Size(),
		ETag:        fmt.Sprintf("%x-%x", st.ModTime().UnixNano(), st.Size()),
		Modified:    st.ModTime().UTC(),
		ContentType: contentType(key),
	}
}

func contentType(key string) string {
	if t := mime.TypeByExtension(filepath.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func mapFSError(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || isNotDir(err) {
		return fmt.Errorf("storage: %s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("storage: %s: %w", key, err)
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}
