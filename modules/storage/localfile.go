package storage

import (
	"context"
	"fmt"
	"io"
	"os"
)

// LocalFile is a file a local reader (DuckDB) can open for key: the object
// itself when the store keeps plain files, else a copy written to dst.
func LocalFile(ctx context.Context, s Store, key, dst string) (string, error) {
	if lp, ok := s.(LocalPather); ok {
		if p, err := lp.LocalPath(key); err == nil {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	f, err := os.Create(dst)
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", key, err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return dst, f.Close()
}
