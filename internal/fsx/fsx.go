// Package fsx holds the small file-system helpers that several modules'
// durability code shares (storage's atomic writes, ingest's spooled
// uploads, pathway's log).
package fsx

import (
	"context"
	"fmt"
	"io"
	"os"
)

// SyncDir fsyncs a directory so an entry created or renamed in it survives
// a crash (the file's own fsync does not cover its directory entry).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so a long io.Copy from a client stops when the request is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
