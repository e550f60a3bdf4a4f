package query

import (
	"context"
	"fmt"
	"log/slog"
	"math"
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
	// Server directories never appear in an error a client sees: a
	// local part reads as its key ("datasets/x/p.parquet"), a cached one
	// as its cache file name.
	scrubDirs := []string{cfg.DataDir, tempDir(cfg.DataDir)}
	if lp, ok := cfg.Store.(storage.LocalPather); ok {
		src = localParts{lp}
		scrubDirs = append(scrubDirs, lp.Root())
	} else {
		scrubDirs = append(scrubDirs, cacheDir(cfg.DataDir))
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
		TempDir:       tempDir(cfg.DataDir),
	})
	if err != nil {
		return nil, err
	}
	v := newViews(eng, src, log)
	// Watch first, then sync: a change committed in between is applied
	// twice (idempotent) rather than missed.
	v.unwatch = cfg.Catalog.Watch(v.onChange)
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
		limits: limits{
			resultBytes:  clampInt(int64(cfg.Query.MaxResultBytes)),
			streamBytes:  clampInt(int64(cfg.Query.MaxStreamBytes)),
			sqlBytes:     clampInt(int64(cfg.Query.MaxSQLBytes)),
			selectBlocks: cfg.Query.MaxSelectBlocks,
		},
		scrub: newScrubber(scrubDirs...),
	}, nil
}

// tempDir is where DuckDB spills.
func tempDir(dataDir string) string { return filepath.Join(dataDir, "query", "tmp") }

// clampInt turns a configured byte cap into an int; 0 (unset, in callers
// that build a Config by hand) means no cap.
func clampInt(n int64) int {
	if n <= 0 || n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}
