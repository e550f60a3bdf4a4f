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
	// the part holding them stays (their keys are in table unch).
	keptSame int64
}

// planParts finds the parts of base that hold an incoming key, reading as
// little as it can: a part whose key range (from the manifest, else its
// footer) cannot hold one is kept unread, so is a part whose key filter
// holds none; only the rest are fetched (with a bucket, every other part
// stays where it is), and of those only the key columns are read, into
// table hits (the key and the part, per matching row). Candidates found
// to hold no key get a key filter for the next call.
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
	needPaths := make([]string, len(need))
	for j, i := range need {
		if pl.filters[i] != nil {
			continue // the filter decides without a download
		}
		if err := fetch(i); err != nil {
			return nil, err
		}
		needPaths[j] = pl.paths[i]
	}
	footer, err := s.footerRanges(ctx, slices.DeleteFunc(slices.Clone(needPaths), func(p string) bool { return p == "" }), col, keyTypes[0])
	if err != nil {
		return nil, err
	}
	for _, i := range need {
		if pl.paths[i] != "" {
			pl.ranges[i], footer = footer[0], footer[1:]
		}
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
	if err := s.findHits(ctx, pl.paths, cands, req.Key, keyTypes, pl.hits); err != nil {
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
// matching rows all change is dropped, one where some change is written
// again without them, one whose matching rows are all unchanged (an
// upsert of the same values) is kept; every other part is kept by
// reference, with its key range and filter for the next call. Each part
// is changed on its own connection, two at a time (see changePart).
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
		if o.kept {
			pl.keptSame += o.unchanged
		}
	}
	// What the rewritten parts keep, published, with range and filter.
	var parts []partResult
	var rows []int64
	var local []string
	for _, o := range outs {
		if o.path != "" {
			p, err := hashPart(o.path)
			if err != nil {
				return nil, err
			}
			p.rows = o.rows
			parts, rows, local = append(parts, p), append(rows, o.rows), append(local, o.path)
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
	path      string // the part's rows without an incoming key ("" when dropped)
	rows      int64  // rows written
	unchanged int64  // matching rows an upsert leaves as they are
}

// changeParts runs changePart over the parts at idx, two connections at
// a time (a part is one row group or a few: one connection reads it on
// one core), and returns the outcomes by part index.
func (s *keySession) changeParts(ctx context.Context, req Request, base catalog.Manifest, keyTypes []string, pl *partPlan, idx []int,
	dir string, rowGroup int) (map[int]partOutcome, error) {
	outs := make(map[int]partOutcome, len(idx))
	if len(idx) == 0 {
		return outs, nil
	}
	if req.Mode == ModeUpsert {
		// A key held by two stored rows is rewritten whatever its values:
		// the new version must hold it once.
		on := identList(req.Key, "")
		if err := s.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE dups AS SELECT %[1]s FROM hits GROUP BY %[1]s HAVING count(*) > 1", on)); err != nil {
			return nil, err
		}
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
				out, perr := changePart(wctx, conn, req, base, s.cols, pl.paths[i], base.Files[i].Rows, pl.hits[i], w, i, dir, rowGroup)
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

// changePart changes one part (path, rows rows, hits of them matching an
// incoming key) on worker w's connection, reading it once: one COPY
// splits it into the rows without an incoming key (the part's next form)
// and those with one (a few, compared with the incoming rows after).
// When an upsert leaves every matching row as it is, the part is kept and
// the keys go into table unch, so the input is appended without them;
// otherwise the part's next form replaces it (dropped when empty), and
// its unchanged rows come back with the input.
func changePart(ctx context.Context, conn *sql.Conn, req Request, base catalog.Manifest, inCols []string, path string, rows, hits int64,
	w, i int, dir string, rowGroup int) (partOutcome, error) {
	if rowGroup <= 0 {
		rowGroup = 122880
	}
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ingest: change part %d: %w", i, err)
		}
		return nil
	}
	split := filepath.Join(dir, fmt.Sprintf("split-%d", i))
	if err := os.RemoveAll(split); err != nil { // an earlier attempt's
		return partOutcome{}, fmt.Errorf("ingest: change part %d: %w", i, err)
	}
	incKeys := fmt.Sprintf("(SELECT DISTINCT %s, true AS _hit FROM inc)", identList(req.Key, ""))
	q := fmt.Sprintf(`COPY (SELECT %s, m._hit IS NOT NULL AS _matched FROM read_parquet(%s) p LEFT JOIN %s m ON %s)
		TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d, PARTITION_BY (_matched))`,
		partColumns(base.Schema), sqlQuote(path), incKeys, keyMatch(req.Key, keyTypesOf(base.Schema, req.Key), "m"), sqlQuote(split), rowGroup)
	if err := exec(q); err != nil {
		return partOutcome{}, err
	}
	keptFiles, err := splitFiles(filepath.Join(split, "_matched=false"))
	if err != nil {
		return partOutcome{}, err
	}
	matchedFiles, err := splitFiles(filepath.Join(split, "_matched=true"))
	if err != nil {
		return partOutcome{}, err
	}
	var unchanged int64
	if req.Mode == ModeUpsert && len(matchedFiles) > 0 {
		u := fmt.Sprintf("matched_%d", w)
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+u) }()
		// Unchanged: the incoming row equals the stored one in every column
		// (a column the input lacks must be NULL in the stored row, one the
		// dataset lacks NULL in the input) and the key is stored once.
		var eq []string
		for _, c := range base.Schema {
			if slices.Contains(inCols, c.Name) {
				eq = append(eq, fmt.Sprintf("p.%s IS NOT DISTINCT FROM i.%[1]s", identQuote(c.Name)))
			} else {
				eq = append(eq, fmt.Sprintf("p.%s IS NULL", identQuote(c.Name)))
			}
		}
		for _, c := range inCols {
			if !slices.ContainsFunc(base.Schema, func(sc catalog.Column) bool { return sc.Name == c }) {
				eq = append(eq, fmt.Sprintf("i.%s IS NULL", identQuote(c)))
			}
		}
		if err := exec(fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT %s FROM read_parquet(%s, hive_partitioning = false) p
			JOIN inc i ON %s LEFT JOIN dups d ON %s WHERE %s AND d.%s IS NULL`,
			u, identList(req.Key, "p"), quoteList(matchedFiles), keyMatchOn(req.Key, "p", "i"), keyMatchOn(req.Key, "p", "d"),
			strings.Join(eq, " AND "), identQuote(req.Key[0]))); err != nil {
			return partOutcome{}, err
		}
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+u).Scan(&unchanged); err != nil {
			return partOutcome{}, fmt.Errorf("ingest: change part %d: %w", i, err)
		}
		if unchanged == hits {
			// Nothing here changes: the part stays, and so do its rows.
			if err := exec("INSERT INTO unch SELECT * FROM " + u); err != nil {
				return partOutcome{}, err
			}
			return partOutcome{kept: true, unchanged: unchanged}, nil
		}
	}
	out := partOutcome{unchanged: unchanged}
	switch len(keptFiles) {
	case 0:
		return out, nil // every row matched: dropped
	case 1:
		out.path = keptFiles[0]
	default:
		// More than one writer thread: one part again.
		out.path = filepath.Join(dir, fmt.Sprintf("rewritten-%d.parquet", i))
		if err := exec(fmt.Sprintf("COPY (SELECT * FROM read_parquet(%s, hive_partitioning = false)) TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d)",
			quoteList(keptFiles), sqlQuote(out.path), rowGroup)); err != nil {
			return partOutcome{}, err
		}
	}
	if err := conn.QueryRowContext(ctx, "SELECT num_rows FROM parquet_file_metadata("+sqlQuote(out.path)+")").Scan(&out.rows); err != nil {
		return partOutcome{}, fmt.Errorf("ingest: change part %d: %w", i, err)
	}
	if out.rows != rows-hits {
		return partOutcome{}, fmt.Errorf("ingest: change part %d: wrote %d rows, it keeps %d", i, out.rows, rows-hits)
	}
	if out.rows == 0 {
		out.path = ""
	}
	return out, nil
}

// splitFiles lists the Parquet files a partitioned COPY wrote into one
// partition's folder (none when the partition is empty).
func splitFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: split part: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".parquet") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// quoteList is a DuckDB list of quoted paths.
func quoteList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = sqlQuote(p)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// keyTypesOf is the types of the key columns in schema.
func keyTypesOf(schema []catalog.Column, key []string) []string {
	out := make([]string, len(key))
	for i, k := range key {
		if j := slices.IndexFunc(schema, func(c catalog.Column) bool { return c.Name == k }); j >= 0 {
			out[i] = schema[j].Type
		}
	}
	return out
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
