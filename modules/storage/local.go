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
	root     string
	tmp      string
	fileMode fs.FileMode
	dirMode  fs.FileMode
}

var (
	_ Store       = (*Local)(nil)
	_ LocalPather = (*Local)(nil)
)

// LocalOption tunes OpenLocal.
type LocalOption func(*Local)

// WithModes sets the permissions of the files and directories the store
// creates (default fsx.DefaultFileMode and fsx.DefaultDirMode: owner only).
func WithModes(file, dir fs.FileMode) LocalOption {
	return func(l *Local) { l.fileMode, l.dirMode = file.Perm(), dir.Perm() }
}

// OpenLocal opens (creating if needed) a local store rooted at root. The
// root and its temp directory get the directory mode even when they
// existed, so a data dir made before the modes were tightened is closed
// to other users from here on.
func OpenLocal(root string, opts ...LocalOption) (*Local, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage: local root %q: %w", root, err)
	}
	l := &Local{root: abs, tmp: abs + ".tmp", fileMode: fsx.DefaultFileMode, dirMode: fsx.DefaultDirMode}
	for _, o := range opts {
		o(l)
	}
	for _, d := range []string{l.root, l.tmp} {
		if err := fsx.MkdirAll(d, l.dirMode); err != nil {
			return nil, fmt.Errorf("storage: create %s: %w", d, err)
		}
		// Best effort: a root another account owns keeps its mode
		// rather than stopping the server from starting.
		_ = os.Chmod(d, l.dirMode)
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
// A key that would need an existing object as a directory, or that names
// a directory of other objects, is ErrConflict before any byte is read.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error) {
	path, err := l.LocalPath(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := fsx.MkdirAll(filepath.Dir(path), l.dirMode); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return ObjectInfo{}, l.conflict(key)
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	src := &readErrs{r: fsx.ContextReader(ctx, r)}
	n, err := io.Copy(f, src)
	if src.err != nil {
		// The client's body failed (cut off, too large, cancelled): its
		// error carries no server path and keeps its identity.
		return ObjectInfo{}, fmt.Errorf("storage: put %s: read body: %w", key, src.err)
	}
	if err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	if size >= 0 && n != size {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w: got %d bytes, expected %d", key, ErrSizeMismatch, n, size)
	}
	if err := f.Chmod(l.fileMode); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	committed = true
	if err := fsx.SyncDir(filepath.Dir(path)); err != nil {
		return ObjectInfo{}, l.fsErr("put", key, err)
	}
	return l.Stat(ctx, key)
}

// readErrs remembers the reader's own error, so a failed copy can tell a
// broken request body from a failing disk.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// Get opens the object's file.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	path, err := l.LocalPath(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ObjectInfo{}, l.fsErr("get", key, err)
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
		return ObjectInfo{}, l.fsErr("stat", key, err)
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
			if errors.Is(err, fs.ErrNotExist) || (p == dir && isNotDir(err)) {
				return nil // nothing under the prefix (or it names an object)
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
		return ListPage{}, l.fsErr("list", prefix, err)
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

// Delete removes the file and any directories it leaves empty. A key that
// names a directory (a prefix of other objects) holds no object, so like
// any missing key it is not an error, and nothing is removed.
func (l *Local) Delete(_ context.Context, key string) error {
	path, err := l.LocalPath(key)
	if err != nil {
		return err
	}
	st, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return nil
		}
		return l.fsErr("delete", key, err)
	}
	if st.IsDir() {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.fsErr("delete", key, err)
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
