package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// partPlan is what an upsert or delete learns about the latest version's
// parts before it changes any: where each is on local disk, its key range
// and key filter, and how many of its rows hold an incoming key.
type partPlan struct {
	paths   []string             // local copies ("" for parts not fetched)
	ranges  []*catalog.KeyRange  // nil when unknown
	filters []*catalog.KeyFilter // usable filters, kept or built now
	built   map[string]*bloom    // filters built by this call, by part key
	hits    []int64              // rows holding an incoming key
	// wantFilters: the dataset's parts get key filters, because it has
	// some already or its key ranges let through parts holding no
	// incoming key (keys in no order). Where ranges prune, filters would
	// cost an MD5 a row for nothing.
	wantFilters bool
	// keptSame counts the incoming rows left out of the version because
	// the stored row equal to each stays (their keys are in table unch).
	keptSame int64
}

// planParts finds the parts of base that hold an incoming key, reading as
// little as it can: a part whose key range (from the manifest, else its
// footer) cannot hold one is kept unread, so is a part whose key filter
// holds none; only the rest are fetched (with a bucket, every other part
// stays where it is), and those are read in one statement into table
// hits (see findMatches). Candidates found to hold no key get a key
// filter for the next call.
func (in *Ingester) planParts(ctx context.Context, s *keySession, req Request, base catalog.Manifest, keyTypes []string, dir string,
	ch *ChangeStats) (*partPlan, error) {
	col := req.Key[0]
	n := len(base.Files)
	pl := &partPlan{paths: make([]string, n), ranges: make([]*catalog.KeyRange, n), filters: make([]*catalog.KeyFilter, n),
		built: map[string]*bloom{}, hits: make([]int64, n)}
	var need []int
	for i, f := range base.Files {
		if f.KeyRange != nil && f.KeyRange.Column == col {
			pl.ranges[i] = f.KeyRange
		} else {
			need = append(need, i)
		}
		pl.filters[i] = usableFilter(f.KeyFilter, req.Key, keyTypes)
		pl.wantFilters = pl.wantFilters || pl.filters[i] != nil
	}
	fetch := func(i int) error {
		if pl.paths[i] != "" {
			return nil
		}
		p, err := in.localPart(ctx, dir, base.Files[i].Key, i)
		pl.paths[i] = p
		return err
	}
	var read []int // parts whose range comes from their footer
	var readPaths []string
	for _, i := range need {
		if pl.filters[i] != nil {
			continue // the filter decides without a download
		}
		if err := fetch(i); err != nil {
			return nil, err
		}
		read, readPaths = append(read, i), append(readPaths, pl.paths[i])
	}
	footer, err := s.footerRanges(ctx, readPaths, col, keyTypes[0])
	if err != nil {
		return nil, err
	}
	for j, i := range read {
		pl.ranges[i] = footer[j]
	}
	maybe, err := s.candidates(ctx, pl.ranges, col, keyTypes[0])
	if err != nil {
		return nil, err
	}
	var hashes []keyHash
	for i, f := range base.Files {
		if !maybe[i] || pl.filters[i] == nil {
			continue
		}
		b := in.loadFilter(ctx, f.Key, pl.filters[i])
		if b == nil {
			pl.filters[i] = nil // unreadable: read the part, build it again
			continue
		}
		if hashes == nil {
			if hashes, err = s.keyHashes(ctx, req.Key, keyTypes); err != nil {
				return nil, err
			}
		}
		if !b.mayHoldAny(hashes) {
			maybe[i] = false
			ch.PartsFiltered++
		}
	}
	var cands []int
	for i := range base.Files {
		if maybe[i] {
			if err := fetch(i); err != nil {
				return nil, err
			}
			cands = append(cands, i)
		}
	}
	ch.PartsChecked = len(cands)
	if err := s.findMatches(ctx, pl.paths, cands, req, base.Schema, keyTypes, pl.hits); err != nil {
		return nil, fmt.Errorf("ingest: read parts' keys: %w", err)
	}
	// A candidate without an incoming key is kept as it is: give it a
	// filter, so the next change with keys in no order skips it unread.
	var unfiltered []int
	for _, i := range cands {
		if pl.hits[i] == 0 {
			pl.wantFilters = true
			if pl.filters[i] == nil {
				unfiltered = append(unfiltered, i)
			}
		}
	}
	if !pl.wantFilters {
		return pl, nil
	}
	if err := in.buildFiltersFor(ctx, s, pl, base.Files, unfiltered, req.Key, keyTypes); err != nil {
		return nil, err
	}
	return pl, nil
}

// buildFiltersFor builds the key filters of the parts at idx (fetched).
func (in *Ingester) buildFiltersFor(ctx context.Context, s *keySession, pl *partPlan, files []catalog.File, idx []int, key, keyTypes []string) error {
	paths := make([]string, len(idx))
	rows := make([]int64, len(idx))
	for j, i := range idx {
		paths[j], rows[j] = pl.paths[i], files[i].Rows
	}
	built, err := s.buildFilters(ctx, paths, rows, key, keyTypes)
	if err != nil {
		return err
	}
	for j, i := range idx {
		pl.built[files[i].Key] = built[j]
		pl.filters[i] = filterMeta(built[j], key, keyTypes)
	}
	return nil
}

// applyParts changes the parts holding an incoming key (pl.hits) and
// returns the version's files without the incoming rows: a part whose
// rows all change is dropped, one where some change is written again
// without them (its unchanged rows stay), one whose matching rows are all
// unchanged (an upsert of the same values) is kept; every other part is
// kept by reference, with its key range and filter for the next call.
func (in *Ingester) applyParts(ctx context.Context, s *keySession, req Request, base catalog.Manifest, keyTypes []string, pl *partPlan,
	dir string, ch *ChangeStats) ([]catalog.File, error) {
	var touched []int
	for i := range base.Files {
		if pl.hits[i] > 0 {
			touched = append(touched, i)
		}
	}
	outs, err := s.changeParts(ctx, req, base, keyTypes, pl, touched, dir, in.opt.RowGroupRows)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		ch.Unchanged += o.unchanged
	}
	pl.keptSame = ch.Unchanged
	// What the rewritten parts keep, published, with range and filter.
	var parts []partResult
	var rows []int64
	var local []string
	for _, i := range touched {
		if o := outs[i]; o.path != "" {
			parts, rows, local = append(parts, o.part), append(rows, o.rows), append(local, o.path)
		}
	}
	ranges, err := s.footerRanges(ctx, local, req.Key[0], keyTypes[0]) // before publish moves them
	if err != nil {
		return nil, err
	}
	filters := make([]*bloom, len(local))
	if pl.wantFilters {
		if filters, err = s.buildFilters(ctx, local, rows, req.Key, keyTypes); err != nil {
			return nil, err
		}
	}
	pub, err := in.publish(ctx, req.Dataset, parts)
	if err != nil {
		return nil, err
	}
	for j := range pub {
		pub[j].KeyRange = ranges[j]
		if filters[j] != nil {
			pub[j].KeyFilter = filterMeta(filters[j], req.Key, keyTypes)
			pl.built[pub[j].Key] = filters[j]
		}
		ch.BytesWritten += pub[j].Bytes
	}
	next := make([]catalog.File, 0, len(base.Files))
	at := 0
	for i, f := range base.Files {
		o, changed := outs[i]
		switch {
		case !changed || o.kept:
			ch.PartsKept++
			f.KeyRange, f.KeyFilter = pl.ranges[i], pl.filters[i]
			next = append(next, f)
		case o.path == "":
			ch.PartsDropped++
		default:
			ch.PartsRewritten++
			next = append(next, pub[at])
			at++
		}
	}
	return next, nil
}

// partOutcome is what changing one part did.
type partOutcome struct {
	kept      bool   // every matching row is unchanged: the part stays
	path      string // the part without its changed rows ("" when dropped)
	rows      int64  // rows written
	part      partResult
	unchanged int64 // matching rows an upsert leaves as they are
}

// changeParts decides each part at idx from table hits (kept when none
// of its matching rows changes, dropped when every row goes) and runs
// rewritePart over the rest, two connections at a time (a part is one
// row group or a few: one connection reads it on one core). It records
// the unchanged rows' keys in table unch and returns the outcomes by part
// index.
func (s *keySession) changeParts(ctx context.Context, req Request, base catalog.Manifest, keyTypes []string, pl *partPlan, idx []int,
	dir string, rowGroup int) (map[int]partOutcome, error) {
	outs := make(map[int]partOutcome, len(idx))
	if len(idx) == 0 {
		return outs, nil
	}
	// Unchanged rows stay where they are: the input goes in without them.
	if err := s.exec(ctx, fmt.Sprintf("INSERT INTO unch SELECT %s FROM hits WHERE _same", identList(req.Key, ""))); err != nil {
		return nil, err
	}
	same := map[int]int64{}
	rs, err := s.conn.QueryContext(ctx, "SELECT _part, count(*) FROM hits WHERE _same GROUP BY _part")
	if err != nil {
		return nil, fmt.Errorf("ingest: duckdb: %w", err)
	}
	for rs.Next() {
		var part int
		var n int64
		if err := rs.Scan(&part, &n); err != nil {
			rs.Close()
			return nil, fmt.Errorf("ingest: duckdb: %w", err)
		}
		same[part] = n
	}
	rs.Close()
	var todo []int
	for _, i := range idx {
		switch changed := pl.hits[i] - same[i]; {
		case changed == 0:
			outs[i] = partOutcome{kept: true, unchanged: same[i]} // nothing here changes
		case changed >= base.Files[i].Rows:
			outs[i] = partOutcome{unchanged: same[i]} // every row goes: dropped
		default:
			todo = append(todo, i)
		}
	}
	idx = todo
	if len(idx) == 0 {
		return outs, nil
	}
	workers := min(2, len(idx))
	type done struct {
		i   int
		out partOutcome
		err error
	}
	work := make(chan int)
	results := make(chan done)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		go func() {
			conn, err := s.db.Conn(wctx)
			if err == nil {
				defer conn.Close()
			}
			for i := range work {
				if err != nil {
					results <- done{i: i, err: fmt.Errorf("ingest: duckdb: %w", err)}
					continue
				}
				out, perr := rewritePart(wctx, conn, req, base, keyTypes, pl.paths[i], base.Files[i].Rows-(pl.hits[i]-same[i]), i, dir, rowGroup)
				out.unchanged = same[i]
				results <- done{i: i, out: out, err: perr}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, i := range idx {
			select {
			case work <- i:
			case <-wctx.Done():
				return
			}
		}
	}()
	var first error
	for range idx {
		d := <-results
		if d.err != nil && first == nil {
			first = d.err
			cancel()
		}
		outs[d.i] = d.out
	}
	return outs, first
}

// rewritePart writes part i (path) again without its changed rows (the
// rows of hits for it whose incoming row differs), keeping want rows, and
// hashes the result: on the worker's goroutine, so the hashing of one
// part overlaps DuckDB writing the next.
func rewritePart(ctx context.Context, conn *sql.Conn, req Request, base catalog.Manifest, keyTypes []string, path string, want int64, i int,
	dir string, rowGroup int) (partOutcome, error) {
	if rowGroup <= 0 {
		rowGroup = 122880
	}
	out := filepath.Join(dir, fmt.Sprintf("rewritten-%d.parquet", i))
	q := fmt.Sprintf(`COPY (SELECT %s FROM read_parquet(%s) p ANTI JOIN (SELECT %s FROM hits WHERE _part = %d AND NOT _same) c ON %s)
		TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d)`,
		partColumns(base.Schema), sqlQuote(path), identList(req.Key, ""), i, keyMatch(req.Key, keyTypes, "c"),
		sqlQuote(out), rowGroup)
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return partOutcome{}, fmt.Errorf("ingest: rewrite part %d: %w", i, err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT num_rows FROM parquet_file_metadata("+sqlQuote(out)+")").Scan(&n); err != nil {
		return partOutcome{}, fmt.Errorf("ingest: rewrite part %d: %w", i, err)
	}
	if n != want {
		return partOutcome{}, fmt.Errorf("ingest: rewrite part %d: wrote %d rows, it keeps %d", i, n, want)
	}
	p, err := hashPart(out)
	if err != nil {
		return partOutcome{}, err
	}
	p.rows = n
	return partOutcome{path: out, rows: n, part: p}, nil
}

// keyMatchOn is the condition that rows a and b hold the same key (both
// already of the dataset's types).
func keyMatchOn(key []string, a, b string) string {
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = fmt.Sprintf("%s.%s = %s.%s", a, identQuote(k), b, identQuote(k))
	}
	return strings.Join(conds, " AND ")
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
