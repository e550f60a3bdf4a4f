package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"lakehouse/internal/fsx"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// partKey is a part's content-addressed key: the same bytes always land
// on the same key, so re-ingesting the same CSV is idempotent and a live
// version's file is never overwritten with different content.
func partKey(dataset, sha string) string {
	return fmt.Sprintf("%s%s/%s.parquet", catalog.DataPrefix, dataset, sha)
}

// publish moves the finished parts into storage. With a local store the
// fsynced temp file is renamed into place (no copy); otherwise it is
// uploaded. A key that already exists holds the same bytes and is kept.
func (in *Ingester) publish(ctx context.Context, dataset string, parts []partResult) ([]catalog.File, error) {
	files := make([]catalog.File, 0, len(parts))
	lp, local := in.store.(storage.LocalPather)
	for _, p := range parts {
		if p.synced != nil {
			if err := <-p.synced; err != nil {
				return nil, err
			}
		}
		key := partKey(dataset, p.sha256)
		files = append(files, catalog.File{Key: key, Bytes: p.bytes, Rows: p.rows, SHA256: p.sha256})
		if _, err := in.store.Stat(ctx, key); err == nil {
			continue
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("ingest: stat %s: %w", key, err)
		}
		if local {
			if dst, err := lp.LocalPath(key); err == nil {
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
					if err := os.Rename(p.path, dst); err == nil {
						if err := fsx.SyncDir(filepath.Dir(dst)); err != nil {
							return nil, fmt.Errorf("ingest: fsync %s: %w", filepath.Dir(dst), err)
						}
						continue
					}
				}
			}
			// Different file system: fall back to a copy through Put.
		}
		if err := in.upload(ctx, key, p); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func (in *Ingester) upload(ctx context.Context, key string, p partResult) error {
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("ingest: open part: %w", err)
	}
	defer f.Close()
	if _, err := in.store.Put(ctx, key, f, p.bytes); err != nil {
		return fmt.Errorf("ingest: upload %s: %w", key, err)
	}
	return nil
}

// finish commits the converted parts (commit) and completes the answer:
// the phase times, the by-key counts, the log line. stats is the answer
// so far; began is when the ingest started; attrs go into the log line.
func (in *Ingester) finish(ctx context.Context, req Request, schema []catalog.Column, parts []partResult, stats Stats, began time.Time,
	attrs ...any) (Result, error) {
	pubStart := time.Now()
	res, err := in.commit(ctx, req, schema, parts)
	stats.ElapsedMS = msSince(began)
	stats.PublishMS = msSince(pubStart)
	stats.Change = res.Stats.Change
	res.Stats = stats
	if err == nil {
		in.log.Info("ingest: done", append([]any{"dataset", req.Dataset, "version", res.Manifest.Version, "existing", res.Existing,
			"rows", stats.Rows, "bytes", stats.InputBytes, "parts", stats.Parts, "passes", stats.Passes, "ms", int64(stats.ElapsedMS)}, attrs...)...)
	}
	return res, err
}

// commit publishes the converted parts and registers the version they
// make. A delete's parts are its keys: read where they were written,
// never published.
func (in *Ingester) commit(ctx context.Context, req Request, schema []catalog.Column, parts []partResult) (Result, error) {
	if err := keyInInput(req.Key, schema); err != nil {
		return Result{}, err // before any part is published
	}
	var files []catalog.File
	if req.Mode == ModeDelete {
		for _, p := range parts {
			if p.synced != nil {
				if err := <-p.synced; err != nil {
					return Result{}, err
				}
			}
		}
	} else {
		var err error
		if files, err = in.publish(ctx, req.Dataset, parts); err != nil {
			return Result{}, err
		}
	}
	if !byKey(req.Mode) {
		if beforeRegister != nil {
			beforeRegister()
		}
		return in.register(ctx, req, schema, files)
	}
	// The converted parts are read where they are: still in the work dir
	// (a delete's keys; an upload to a bucket copies), or renamed into a
	// local store, where the stored object is the file. Nothing is
	// downloaded back.
	inputs := make([]string, len(parts))
	for i, p := range parts {
		inputs[i] = p.path
		if _, err := os.Stat(p.path); err == nil || req.Mode == ModeDelete {
			continue
		}
		lp, ok := in.store.(storage.LocalPather)
		if !ok {
			return Result{}, fmt.Errorf("ingest: part %s left the work dir", files[i].Key)
		}
		path, err := lp.LocalPath(files[i].Key)
		if err != nil {
			return Result{}, fmt.Errorf("ingest: part %s: %w", files[i].Key, err)
		}
		inputs[i] = path
	}
	return in.applyByKey(ctx, req, schema, files, inputs)
}

// register records the new version with one catalog call: a replace is
// the new parts; an append adds them to the latest version's. The catalog
// owns the rules (an append whose parts the latest version, or the
// idempotency key's version, already holds is a replay: existing=true;
// drift; conflicts). The parts were just published, so it need not Stat
// them again.
func (in *Ingester) register(ctx context.Context, req Request, schema []catalog.Column, parts []catalog.File) (Result, error) {
	m, existing, err := in.cat.Register(ctx, catalog.RegisterRequest{
		Name: req.Dataset, Schema: schema, Files: parts, Source: req.Source,
		IdempotencyKey: req.IdempotencyKey, AllowSchemaChange: req.Mode == ModeReplace,
		Append: req.Mode == ModeAppend, FilesVerified: true, Key: req.Key,
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Manifest: m, Existing: existing}, nil
}
