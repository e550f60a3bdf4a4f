package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// takeRows finds, in base's parts that may hold an incoming key, the
// rows the change takes out, into the session's table old. A part's key
// range comes from the manifest when an earlier upsert kept it, else from
// its footer; only parts without one, and the candidates, are fetched
// (with a bucket, every other part stays where it is). It returns the
// parts' local paths ("" for parts not fetched), the rows taken from
// each, and each part's key range (nil when unknown).
func (in *Ingester) takeRows(ctx context.Context, s *keySession, req Request, base catalog.Manifest, keyTypes []string, dir string,
	ch *ChangeStats) ([]string, []int64, []*catalog.KeyRange, error) {
	col := req.Key[0]
	paths := make([]string, len(base.Files))
	ranges := make([]*catalog.KeyRange, len(base.Files))
	var need []int
	for i, f := range base.Files {
		if f.KeyRange != nil && f.KeyRange.Column == col {
			ranges[i] = f.KeyRange
		} else {
			need = append(need, i)
		}
	}
	fetch := func(i int) error {
		if paths[i] != "" {
			return nil
		}
		p, err := in.localPart(ctx, dir, base.Files[i].Key, i)
		paths[i] = p
		return err
	}
	needPaths := make([]string, len(need))
	for j, i := range need {
		if err := fetch(i); err != nil {
			return nil, nil, nil, err
		}
		needPaths[j] = paths[i]
	}
	footer, err := s.footerRanges(ctx, needPaths, col, keyTypes[0])
	if err != nil {
		return nil, nil, nil, err
	}
	for j, i := range need {
		ranges[i] = footer[j]
	}
	maybe, err := s.candidates(ctx, ranges, col, keyTypes[0])
	if err != nil {
		return nil, nil, nil, err
	}
	defs := make([]string, len(base.Schema))
	for i, c := range base.Schema {
		defs[i] = identQuote(c.Name) + " " + c.Type
	}
	if err := s.exec(ctx, "DROP TABLE IF EXISTS old"); err != nil {
		return nil, nil, nil, err
	}
	defs = append(defs, "_part INTEGER") // the base part a row came from
	if err := s.exec(ctx, "CREATE TEMP TABLE old ("+strings.Join(defs, ", ")+")"); err != nil {
		return nil, nil, nil, err
	}
	var cands []int
	for i := range base.Files {
		if maybe[i] {
			if err := fetch(i); err != nil {
				return nil, nil, nil, err
			}
			cands = append(cands, i)
		}
	}
	ch.PartsChecked = len(cands)
	removed, err := s.take(ctx, paths, cands, base.Schema, req.Key, keyTypes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ingest: read parts: %w", err)
	}
	return paths, removed, ranges, nil
}

// rewriteParts returns base's files with each part rows were taken from
// (removed) rewritten without them, or dropped when none remain; every
// other part is kept by reference.
func (in *Ingester) rewriteParts(ctx context.Context, s *keySession, req Request, base catalog.Manifest, keyTypes, paths []string,
	removed []int64, ranges []*catalog.KeyRange, dir string, ch *ChangeStats) ([]catalog.File, error) {
	next := make([]catalog.File, 0, len(base.Files))
	var losing []int // parts losing some rows but not all
	at := -1         // where the rewritten parts go in the file list
	for i, f := range base.Files {
		switch {
		case removed[i] == 0:
			ch.PartsKept++
			f.KeyRange = ranges[i] // kept for the next upsert
			next = append(next, f)
		case removed[i] >= f.Rows:
			ch.PartsDropped++
		default:
			ch.PartsRewritten++
			losing = append(losing, i)
			if at < 0 {
				at = len(next)
			}
		}
	}
	if len(losing) == 0 {
		return next, nil
	}
	// One COPY for every part losing rows: their remaining rows are
	// written as parts of the dataset's part size (per-part statements
	// cost more than the rows when an upsert touches every part).
	var want int64
	lp := make([]string, len(losing))
	for j, i := range losing {
		lp[j] = paths[i]
		want += base.Files[i].Rows - removed[i]
	}
	out := filepath.Join(dir, "rewritten")
	if err := s.rewrite(ctx, lp, base.Schema, req.Key, keyTypes, out, in.opt.RowGroupRows, in.partSize(req)); err != nil {
		return nil, fmt.Errorf("ingest: rewrite %d parts: %w", len(losing), err)
	}
	parts, err := rewrittenParts(ctx, s, out, want)
	if err != nil {
		return nil, err
	}
	local := make([]string, len(parts))
	for j, p := range parts {
		local[j] = p.path
	}
	partRanges, err := s.footerRanges(ctx, local, req.Key[0], keyTypes[0]) // before publish moves them
	if err != nil {
		return nil, err
	}
	pub, err := in.publish(ctx, req.Dataset, parts)
	if err != nil {
		return nil, err
	}
	for j := range pub {
		pub[j].KeyRange = partRanges[j]
	}
	for _, f := range pub {
		ch.BytesWritten += f.Bytes
	}
	return slices.Insert(next, at, pub...), nil
}

// rewrittenParts hashes the files a rewrite wrote into dir, in order,
// checking they hold want rows in all.
func rewrittenParts(ctx context.Context, s *keySession, dir string, want int64) ([]partResult, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ingest: rewritten parts: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".parquet") {
			names = append(names, e.Name())
		}
	}
	slices.SortFunc(names, func(a, b string) int { return fileIndex(a) - fileIndex(b) })
	var parts []partResult
	var got int64
	for _, n := range names {
		path := filepath.Join(dir, n)
		var rows int64
		if err := s.conn.QueryRowContext(ctx, "SELECT num_rows FROM parquet_file_metadata("+sqlQuote(path)+")").Scan(&rows); err != nil {
			return nil, fmt.Errorf("ingest: rewritten part: %w", err)
		}
		if rows == 0 {
			continue
		}
		p, err := hashPart(path)
		if err != nil {
			return nil, err
		}
		p.rows = rows
		got += rows
		parts = append(parts, p)
	}
	if got != want {
		return nil, fmt.Errorf("ingest: the rewrite wrote %d rows, the parts keep %d", got, want)
	}
	return parts, nil
}

// fileIndex is the number DuckDB ends a COPY output file's name with
// (data_0.parquet, data_1.parquet, …); -1 when there is none.
func fileIndex(name string) int {
	base := strings.TrimSuffix(name, ".parquet")
	n, err := strconv.Atoi(base[strings.LastIndexByte(base, '_')+1:])
	if err != nil {
		return -1
	}
	return n
}

// localPart is a path DuckDB can read for a stored part: the object
// itself on a local store, else a copy in dir.
func (in *Ingester) localPart(ctx context.Context, dir, key string, i int) (string, error) {
	p, err := storage.LocalFile(ctx, in.store, key, filepath.Join(dir, fmt.Sprintf("base-%d.parquet", i)))
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	return p, nil
}
