package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Service is what other parts of the process (the CLI) use to ingest.
type Service interface {
	// IngestFile ingests a CSV file on local disk.
	IngestFile(ctx context.Context, path string, req Request) (Result, error)
	// IngestReader spools a CSV stream to disk and ingests it.
	IngestReader(ctx context.Context, r io.Reader, req Request) (Result, error)
}

// Module is the ingest module: POST /v1/ingest and the Service.
type Module struct {
	ing       *Ingester
	maxUpload config.ByteSize
}

var (
	_ kit.Module = (*Module)(nil)
	_ kit.Router = (*Module)(nil)
	_ Service    = (*Ingester)(nil)
)

// New returns the ingest module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "ingest" }

// ConfigSection implements kit.Configured: the [ingest] section.
func (m *Module) ConfigSection() string { return "ingest" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"catalog", "storage"} }

// TempDir is where ingest spools uploads and writes parts for cfg.
func TempDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "tmp") }

// Init builds the Ingester and clears work directories a crashed ingest
// left behind (the catalog holds the metadata database lock by now, so no
// other process is ingesting into this data dir).
func (m *Module) Init(ctx context.Context, c *kit.Container) error {
	cat, err := kit.Resolve[catalog.Catalog](c)
	if err != nil {
		return err
	}
	store, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	cfg := c.Config()
	tmp := TempDir(cfg)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("ingest: temp dir: %w", err)
	}
	if entries, err := os.ReadDir(tmp); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "ingest-") {
				_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
	}
	m.maxUpload = cfg.Ingest.MaxUpload
	m.ing = NewIngester(cat, store, Options{
		SampleRows: cfg.Ingest.SampleRows, PartSize: int64(cfg.Ingest.PartSize), RowGroupRows: cfg.Ingest.RowGroupRows,
		Workers: cfg.Ingest.Workers, TempDir: tmp,
		MaxColumns: cfg.Ingest.MaxColumns, MaxRecordBytes: int(cfg.Ingest.MaxRecordBytes),
	}, c.Logger("ingest"))
	reg, err := kit.Resolve[*kit.Metrics](c)
	if err != nil {
		return err
	}
	if m.ing.met, err = newMetrics(reg); err != nil {
		return fmt.Errorf("ingest: metrics: %w", err)
	}
	kit.Provide[Service](c, m.ing)
	return nil
}
