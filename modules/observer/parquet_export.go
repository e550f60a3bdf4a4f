package observer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// parquetExporter publishes events to a catalog dataset so SQL can query
// the audit trail. Every interval the events recorded since the last
// export become one Parquet part under datasets/<name>/, and a new
// version listing every part is registered. The highest id exported is
// read back from the part names at start, so a restart re-exports exactly
// the persisted events the dataset lacks.
type parquetExporter struct {
	cat        catalog.Catalog
	store      storage.Store
	obs        *Observer
	log        *slog.Logger
	dataset    string
	compactAt  int
	maxPending int

	mu       sync.Mutex
	pending  []Event
	hwm      int64 // highest id in the dataset
	version  int
	parts    int
	rows     int64
	lastErr  string
	failures int64

	exportMu sync.Mutex
}

// DatasetStatus is the Parquet part of /v1/observer/health.
type DatasetStatus struct {
	Name       string `json:"name"`
	Version    int    `json:"version"`
	Parts      int    `json:"parts"`
	Rows       int64  `json:"rows"`
	ExportedID int64  `json:"exported_id"`
	Pending    int    `json:"pending"`
	Failures   int64  `json:"failures"`
	LastError  string `json:"last_error,omitempty"`
}

func (x *parquetExporter) status() DatasetStatus {
	x.mu.Lock()
	defer x.mu.Unlock()
	return DatasetStatus{Name: x.dataset, Version: x.version, Parts: x.parts, Rows: x.rows, ExportedID: x.hwm,
		Pending: len(x.pending), Failures: x.failures, LastError: x.lastErr}
}

// startParquet wires the exporter when a dataset is configured and the
// catalog module runs in this process.
func (m *Module) startParquet(ctx context.Context, bg context.Context) error {
	if m.cfg.Dataset == "" {
		return nil
	}
	cat, ok := kit.Lookup[catalog.Catalog](m.c)
	if !ok {
		m.log.Info("observer: catalog not running; events are not published as a dataset")
		return nil
	}
	store, err := kit.Resolve[storage.Store](m.c)
	if err != nil {
		return err
	}
	x := &parquetExporter{cat: cat, store: store, obs: m.obs, log: m.log, dataset: m.cfg.Dataset,
		compactAt: m.cfg.ParquetCompactFiles, maxPending: m.cfg.MaxPending}
	man, err := cat.Get(ctx, x.dataset)
	switch {
	case err == nil:
		x.hwm, x.version, x.parts, x.rows = partsHWM(man.Files), man.Version, len(man.Files), man.RowCount
	case errors.Is(err, catalog.ErrNotFound):
	default:
		m.log.Warn("observer: read dataset manifest; not publishing events as a dataset", "dataset", x.dataset, "err", err)
		return nil
	}
	// Ids must go on after the dataset's, even when the segments are off
	// or gone, or new rows would collide with (and be filtered as) old ones.
	m.obs.continueAfter(x.hwm)
	// Hook first, then backfill: export() sorts and drops duplicates.
	m.obs.onRecord(func(ev Event, _ []byte) { x.enqueue(ev) })
	if m.pers != nil {
		if err := x.backfill(ctx, m.pers); err != nil {
			m.log.Warn("observer: backfill dataset from segments", "err", err)
		}
	}
	m.pq = x
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.cfg.ParquetInterval.D())
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				_ = x.export(bg)
			}
		}
	}()
	return nil
}

// partsHWM is the highest event id among part names
// (datasets/<name>/part-<first>-<last>.parquet).
func partsHWM(files []catalog.File) int64 {
	var hwm int64
	for _, f := range files {
		hwm = max(hwm, partRange(f.Key)[1])
	}
	return hwm
}

// backfill queues persisted events newer than the dataset.
func (x *parquetExporter) backfill(ctx context.Context, p *persister) error {
	p.flushMu.Lock()
	segs := slices.Clone(p.segments)
	p.flushMu.Unlock()
	n := 0
	for _, s := range segs {
		if s.last <= x.hwm {
			continue
		}
		evs, _, err := readSegment(ctx, p.store, s)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.ID > x.hwm {
				x.enqueue(ev)
				n++
			}
		}
	}
	if n > 0 {
		x.log.Info("observer: re-exporting persisted events to the dataset", "events", n, "after_id", x.hwm)
	}
	return nil
}

func (x *parquetExporter) enqueue(ev Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if ev.ID <= x.hwm {
		return
	}
	x.pending = append(x.pending, ev)
	if over := len(x.pending) - x.maxPending; over > 0 {
		x.pending = append(x.pending[:0:0], x.pending[over:]...)
		x.failures += int64(over)
		x.obs.persistFailures.Add(int64(over))
	}
}

// export writes the pending events as one part and registers a version.
// On failure the events stay queued (the orphaned part, if any, is left
// for the catalog's garbage collection).
func (x *parquetExporter) export(ctx context.Context) error {
	x.exportMu.Lock()
	defer x.exportMu.Unlock()
	x.mu.Lock()
	batch := x.pending
	x.pending = nil
	hwm := x.hwm
	x.mu.Unlock()
	slices.SortFunc(batch, func(a, b Event) int { return cmpInt(a.ID, b.ID) })
	batch = slices.CompactFunc(batch, func(a, b Event) bool { return a.ID == b.ID })
	for len(batch) > 0 && batch[0].ID <= hwm {
		batch = batch[1:]
	}
	if len(batch) == 0 {
		return nil
	}
	man, err := x.publish(ctx, batch)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.pending = append(batch, x.pending...)
		x.failures++
		x.lastErr = err.Error()
		x.obs.persistFailures.Add(1)
		x.log.Error("observer: publish events dataset failed; events stay queued", "events", len(batch), "err", err)
		return err
	}
	x.hwm = batch[len(batch)-1].ID
	x.version, x.parts, x.rows, x.lastErr = man.Version, len(man.Files), man.RowCount, ""
	return nil
}

func (x *parquetExporter) publish(ctx context.Context, batch []Event) (catalog.Manifest, error) {
	data, err := writeParquet(batch)
	if err != nil {
		return catalog.Manifest{}, err
	}
	key := fmt.Sprintf("datasets/%s/part-%020d-%020d.parquet", x.dataset, batch[0].ID, batch[len(batch)-1].ID)
	f, err := x.put(ctx, key, data, int64(len(batch)))
	if err != nil {
		return catalog.Manifest{}, err
	}
	var files []catalog.File
	prev, err := x.cat.Get(ctx, x.dataset)
	switch {
	case err == nil:
		files = slices.Clone(prev.Files)
	case !errors.Is(err, catalog.ErrNotFound):
		return catalog.Manifest{}, fmt.Errorf("observer: read dataset %s: %w", x.dataset, err)
	}
	files = append(files, f)
	if len(files) >= x.compactAt {
		if merged, err := x.compact(ctx, files); err != nil {
			x.log.Warn("observer: compact dataset parts", "parts", len(files), "err", err)
		} else {
			files = []catalog.File{merged}
		}
	}
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	man, _, err := x.cat.Register(ctx, catalog.RegisterRequest{
		Name: x.dataset, Schema: eventColumns, Files: files, RowCount: rows, Source: "observer",
		Owner: catalog.ObserverOwner, // the catalog reserves the name for this module
	})
	if err != nil {
		return catalog.Manifest{}, fmt.Errorf("observer: register dataset %s: %w", x.dataset, err)
	}
	return man, nil
}

func (x *parquetExporter) put(ctx context.Context, key string, data []byte, rows int64) (catalog.File, error) {
	sum := sha256.Sum256(data)
	if _, err := x.store.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return catalog.File{}, fmt.Errorf("observer: write %s: %w", key, err)
	}
	return catalog.File{Key: key, Bytes: int64(len(data)), Rows: rows, SHA256: hex.EncodeToString(sum[:])}, nil
}

// compact rewrites every part as one file named by the whole id range.
// Older versions keep pointing at the parts; the catalog's gc removes
// them once no live version does.
func (x *parquetExporter) compact(ctx context.Context, files []catalog.File) (catalog.File, error) {
	parts := make([][]byte, 0, len(files))
	var rows int64
	for _, f := range files {
		rc, _, err := x.store.Get(ctx, f.Key)
		if err != nil {
			return catalog.File{}, fmt.Errorf("observer: read %s: %w", f.Key, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return catalog.File{}, fmt.Errorf("observer: read %s: %w", f.Key, err)
		}
		parts = append(parts, data)
		rows += f.Rows
	}
	data, err := concatParquet(ctx, parts)
	if err != nil {
		return catalog.File{}, err
	}
	first, last := partRange(files[0].Key), partRange(files[len(files)-1].Key)
	key := fmt.Sprintf("datasets/%s/part-%020d-%020d.parquet", x.dataset, first[0], last[1])
	return x.put(ctx, key, data, rows)
}

// partRange parses [first, last] from a part key (zeros when unknown).
func partRange(key string) [2]int64 {
	base := strings.TrimSuffix(key[strings.LastIndexByte(key, '/')+1:], ".parquet")
	base = strings.TrimPrefix(base, "part-")
	fs := strings.Split(base, "-")
	var r [2]int64
	if len(fs) >= 2 {
		r[0], _ = strconv.ParseInt(fs[0], 10, 64)
		r[1], _ = strconv.ParseInt(fs[1], 10, 64)
	}
	return r
}
