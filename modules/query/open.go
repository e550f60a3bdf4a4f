package query

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// Config is what Open needs: the [query] section, the data dir, and the
// storage and catalog the views read.
type Config struct {
	Query   config.QueryConfig
	DataDir string
	Store   storage.Store
	Catalog catalog.Catalog
	Log     *slog.Logger
}

// Open builds the engine and its views. Local stores are read in place;
// any other store goes through the read-through part cache. The caller
// closes the Service.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	var src partSource
	var cache *partCache
	if lp, ok := cfg.Store.(storage.LocalPather); ok {
		src = localParts{lp}
	} else {
		c, err := newPartCache(cfg.Store, cacheDir(cfg.DataDir), int64(cfg.Query.CacheSize), log)
		if err != nil {
			return nil, err
		}
		src, cache = c, c
	}
	eng, err := OpenEngine(ctx, Options{
		Threads:       cfg.Query.Threads,
		MemoryLimit:   cfg.Query.MemoryLimit,
		MaxConcurrent: cfg.Query.MaxConcurrent,
		ReadDirs:      []string{src.Dir()},
		TempDir:       filepath.Join(cfg.DataDir, "query", "tmp"),
	})
	if err != nil {
		return nil, err
	}
	v := newViews(eng, src, log)
	// Watch first, then sync: a change committed in between is applied
	// twice (idempotent) rather than missed.
	cfg.Catalog.Watch(v.onChange(cfg.Catalog))
	if err := v.syncAll(ctx, cfg.Catalog); err != nil {
		v.close()
		_ = eng.Close()
		return nil, fmt.Errorf("query: initial views: %w", err)
	}
	return &Service{
		eng: eng, views: v, cache: cache,
		maxRows: cfg.Query.MaxRows,
		timeout: cfg.Query.Timeout.D(),
		maxTime: cfg.Query.MaxTimeout.D(),
	}, nil
}
