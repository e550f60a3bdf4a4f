package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"lakehouse/internal/cpus"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// Modes that change rows by key (copy-on-write).
const (
	// ModeUpsert replaces the rows whose key the input holds and appends
	// the others.
	ModeUpsert = "upsert"
	// ModeDelete removes the rows whose key the input lists.
	ModeDelete = "delete"
)

// maxKeyColumns bounds a declared key.
const maxKeyColumns = 16

// byKey reports whether the mode changes rows by key.
func byKey(mode string) bool { return mode == ModeUpsert || mode == ModeDelete }

// ParseKey splits a key= value ("id" or "region,id") into column names.
func ParseKey(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var key []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
			return nil, fmt.Errorf("%w: key %q has an empty column name", ErrInvalid, s)
		case slices.Contains(key, c):
			return nil, fmt.Errorf("%w: key names column %q twice", ErrInvalid, c)
		}
		key = append(key, c)
	}
	if len(key) > maxKeyColumns {
		return nil, fmt.Errorf("%w: a key has at most %d columns, not %d", ErrInvalid, maxKeyColumns, len(key))
	}
	return key, nil
}

// ChangeStats is what an upsert or a delete by key did.
type ChangeStats struct {
	Key []string `json:"key"`
	// Rows: inserted (new keys), updated (a key that was there, with
	// other values), unchanged (the same row again), deleted (a delete's
	// keys found), unknown_keys (a delete's keys not found).
	Inserted    int64 `json:"inserted"`
	Updated     int64 `json:"updated"`
	Unchanged   int64 `json:"unchanged"`
	Deleted     int64 `json:"deleted"`
	UnknownKeys int64 `json:"unknown_keys"`
	// Parts: rewritten without the changed rows, dropped (every row
	// changed), kept by reference (no incoming key: pruned by their
	// footers' min/max or found to hold none), checked (read because
	// their min/max could hold a key); bytes of parts written, the new
	// rows' included.
	PartsRewritten int   `json:"parts_rewritten"`
	PartsDropped   int   `json:"parts_dropped"`
	PartsKept      int   `json:"parts_kept"`
	PartsChecked   int   `json:"parts_checked"`
	BytesWritten   int64 `json:"bytes_written"`
	// Attempts is how many times the change was built: another writer
	// committing first makes it start over on the new version.
	Attempts int `json:"attempts"`
}

// maxByKeyAttempts bounds the rebuilds when other writers keep winning.
const maxByKeyAttempts = 5

// prepareByKey checks an upsert's or delete's key against the request
// and the latest version (its declared key is the default) before any
// byte is read.
func prepareByKey(req *Request, prev *catalog.Manifest) error {
	if len(req.Key) == 0 && prev != nil {
		req.Key = slices.Clone(prev.Key)
	}
	if len(req.Key) == 0 {
		return fmt.Errorf("%w: mode=%s needs key=<column>[,<column>…] (the dataset declares none yet)", ErrInvalid, req.Mode)
	}
	if req.Mode == ModeDelete {
		if prev == nil {
			return fmt.Errorf("%w: %q has no rows to delete", catalog.ErrNotFound, req.Dataset)
		}
		// The keys are read as text and cast to the dataset's types, so
		// "00123" stays "00123" for a VARCHAR key.
		req.textColumns = map[string]bool{}
		for _, k := range req.Key {
			req.textColumns[k] = true
		}
	}
	if prev != nil {
		if missing := missingColumns(req.Key, prev.Schema); len(missing) > 0 {
			return fmt.Errorf("%w: key column %s is not in dataset %q (its columns: %s)", ErrInvalid,
				strings.Join(missing, ", "), req.Dataset, columnNames(prev.Schema))
		}
	}
	return nil
}

func missingColumns(names []string, schema []catalog.Column) []string {
	var missing []string
	for _, n := range names {
		if !slices.ContainsFunc(schema, func(c catalog.Column) bool { return c.Name == n }) {
			missing = append(missing, strconvQuote(n))
		}
	}
	return missing
}

func columnNames(schema []catalog.Column) string {
	names := make([]string, len(schema))
	for i, c := range schema {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// applyByKey builds and registers the version an upsert or a delete
// makes from the latest one: parts that may hold an incoming key (by
// their footers' min/max of the key's first column) are read, those
// holding one are rewritten without its rows, every other part is kept
// by reference, and an upsert's converted rows (files) are added. One
// catalog version, one Iceberg snapshot (overwrite). inputs are local
// paths of the converted input, in order.
func (in *Ingester) applyByKey(ctx context.Context, req Request, schema []catalog.Column, files []catalog.File, inputs []string) (Result, error) {
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	if missing := missingColumns(req.Key, schema); len(missing) > 0 {
		return Result{}, &InputError{Code: "bad_key", Msg: fmt.Sprintf("key column %s is not in the input (its columns: %s)",
			strings.Join(missing, ", "), columnNames(schema))}
	}
	s, err := openKeySession(ctx, dir)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	for attempt := 1; ; attempt++ {
		base, err := in.cat.Get(ctx, req.Dataset)
		var basePtr *catalog.Manifest
		switch {
		case err == nil:
			basePtr = &base
		case errors.Is(err, catalog.ErrNotFound) && req.Mode == ModeUpsert:
		default:
			return Result{}, err
		}
		res, err := in.buildByKey(ctx, s, req, schema, files, inputs, basePtr, dir)
		if res.Stats.Change != nil {
			res.Stats.Change.Attempts = attempt
		}
		if errors.Is(err, catalog.ErrBaseMoved) && attempt < maxByKeyAttempts {
			in.log.Info("ingest: dataset changed while the change was built; building it again", "dataset", req.Dataset, "attempt", attempt)
			continue
		}
		return res, err
	}
}

// buildByKey is one attempt of applyByKey on base (nil: a new dataset).
func (in *Ingester) buildByKey(ctx context.Context, s *keySession, req Request, schema []catalog.Column, files []catalog.File,
	inputs []string, base *catalog.Manifest, dir string) (Result, error) {
	keyTypes := make([]string, len(req.Key))
	typeSource := schema
	if base != nil {
		typeSource = base.Schema
	}
	for i, k := range req.Key {
		keyTypes[i] = typeSource[slices.IndexFunc(typeSource, func(c catalog.Column) bool { return c.Name == k })].Type
	}
	ch := &ChangeStats{Key: slices.Clone(req.Key)}
	if err := s.loadInput(ctx, inputs, req.Key, keyTypes, req.Mode == ModeDelete); err != nil {
		return Result{}, err
	}
	if err := s.checkInput(ctx, req.Key, req.Mode == ModeUpsert); err != nil {
		return Result{}, err
	}
	for _, f := range files {
		ch.BytesWritten += f.Bytes
	}
	content := fmt.Sprintf("%s:%s:%s", req.Mode, strings.Join(req.Key, ","), joinFileKeys(files, inputs))
	if base == nil {
		// A new dataset: the upsert is its first version, the key declared.
		n, err := s.count(ctx, "SELECT count(*) FROM inc")
		if err != nil {
			return Result{}, err
		}
		ch.Inserted = n
		if files, err = s.withRanges(ctx, files, inputs, req.Key[0], keyTypes[0]); err != nil {
			return Result{}, err
		}
		m, existing, err := in.cat.Register(ctx, catalog.RegisterRequest{
			Name: req.Dataset, Schema: schema, Files: files, Source: req.Source, IdempotencyKey: req.IdempotencyKey,
			IdempotencyContent: content, Key: req.Key, FilesVerified: true,
		})
		return Result{Manifest: m, Existing: existing, Stats: Stats{Change: ch}}, err
	}
	paths, removed, ranges, err := in.takeRows(ctx, s, req, *base, keyTypes, dir, ch)
	if err != nil {
		return Result{}, err
	}
	if err := s.countChange(ctx, req, base.Schema, ch); err != nil {
		return Result{}, err
	}
	if ch.Inserted == 0 && ch.Updated == 0 && ch.Deleted == 0 && slices.Equal(req.Key, base.Key) {
		// Nothing changes: the latest version is the answer (a replay of
		// the same upsert lands here too), and no part is rewritten.
		ch.PartsKept, ch.BytesWritten = len(base.Files), 0
		return Result{Manifest: *base, Existing: true, Stats: Stats{Change: ch}}, nil
	}
	next, err := in.rewriteParts(ctx, s, req, *base, keyTypes, paths, removed, ranges, dir, ch)
	if err != nil {
		return Result{}, err
	}
	newSchema := base.Schema
	if req.Mode == ModeUpsert {
		if files, err = s.withRanges(ctx, files, inputs, req.Key[0], keyTypes[0]); err != nil {
			return Result{}, err
		}
		next = append(next, files...)
		newSchema = slices.Clone(schema)
		for i := range newSchema {
			if j := slices.IndexFunc(base.Schema, func(c catalog.Column) bool { return c.Name == newSchema[i].Name }); j >= 0 && base.Schema[j].Nullable {
				newSchema[i].Nullable = true
			}
		}
	}
	if beforeRegister != nil {
		beforeRegister() // every part, rewritten ones included, is written
	}
	m, existing, err := in.cat.Register(ctx, catalog.RegisterRequest{
		Name: req.Dataset, Schema: newSchema, Files: next, Source: req.Source, IdempotencyKey: req.IdempotencyKey,
		IdempotencyContent: content, BaseVersion: base.Version, Key: req.Key, FilesVerified: true,
	})
	return Result{Manifest: m, Existing: existing, Stats: Stats{Change: ch}}, err
}

// joinFileKeys names an input by its parts: an upsert's published keys,
// or a delete's part hashes (content-addressed either way).
func joinFileKeys(files []catalog.File, inputs []string) string {
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.SHA256)
		b.WriteByte(' ')
	}
	if len(files) == 0 {
		for _, p := range inputs {
			b.WriteString(filepath.Base(p))
			b.WriteByte(' ')
		}
	}
	return b.String()
}

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
	if lp, ok := in.store.(storage.LocalPather); ok {
		if p, err := lp.LocalPath(key); err == nil {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	rc, _, err := in.store.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("ingest: read part %s: %w", key, err)
	}
	defer rc.Close()
	p := filepath.Join(dir, fmt.Sprintf("base-%d.parquet", i))
	f, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("ingest: copy part: %w", err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return "", fmt.Errorf("ingest: read part %s: %w", key, err)
	}
	return p, f.Close()
}

// keySession is the in-process DuckDB an upsert or delete works in:
// table inc holds the input (keys cast to the dataset's types, _rec its
// record number), old the rows the change takes out.
type keySession struct {
	db   *sql.DB
	conn *sql.Conn
	cols []string // the input's columns, in order
}

func openKeySession(ctx context.Context, dir string) (*keySession, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("ingest: open duckdb: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ingest: open duckdb: %w", err)
	}
	s := &keySession{db: db, conn: conn}
	// Rewriting a part holds about a row group per thread; 256 MB keeps
	// an upsert's peak near a replace's (measured: 512 MB let a spread
	// upsert peak 1.7× a replace's), spilling past it.
	for _, q := range []string{fmt.Sprintf("SET threads = %d", max(1, min(2, cpus.N()))), "SET memory_limit = '256MB'",
		"SET preserve_insertion_order = true", "SET temp_directory = " + sqlQuote(filepath.Join(dir, "spill")),
		"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false"} {
		if err := s.exec(ctx, q); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *keySession) close() {
	s.conn.Close()
	s.db.Close()
}

func (s *keySession) exec(ctx context.Context, q string) error {
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("ingest: duckdb: %w", err)
	}
	return nil
}

func (s *keySession) count(ctx context.Context, q string) (int64, error) {
	var n int64
	if err := s.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("ingest: duckdb: %w", err)
	}
	return n, nil
}

// loadInput fills inc from the converted input, numbering its records
// from 1 in input order. A delete keeps only the key columns, cast (from
// text) to the dataset's types; a key that does not cast is a 400.
func (s *keySession) loadInput(ctx context.Context, inputs, key, keyTypes []string, keysOnly bool) error {
	if err := s.exec(ctx, "DROP TABLE IF EXISTS inc"); err != nil {
		return err
	}
	list := make([]string, len(inputs))
	for i, p := range inputs {
		list[i] = sqlQuote(p)
	}
	src := fmt.Sprintf("read_parquet([%s], filename = true, file_row_number = true)", strings.Join(list, ", "))
	order := fmt.Sprintf("list_position([%s], filename), file_row_number", strings.Join(list, ", "))
	sel := "* EXCLUDE (filename, file_row_number)"
	if keysOnly {
		parts := make([]string, len(key))
		for i, k := range key {
			parts[i] = fmt.Sprintf("CAST(%s AS VARCHAR) AS %s", identQuote(k), identQuote(k))
		}
		sel = strings.Join(parts, ", ")
	}
	q := fmt.Sprintf("CREATE TEMP TABLE inc AS SELECT row_number() OVER (ORDER BY %s) AS _rec, %s FROM %s", order, sel, src)
	if err := s.exec(ctx, q); err != nil {
		return err
	}
	if keysOnly {
		for i, k := range key {
			var rec int64
			var val string
			err := s.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT _rec, %s FROM inc WHERE %s IS NOT NULL AND TRY_CAST(%s AS %s) IS NULL ORDER BY _rec LIMIT 1",
				identQuote(k), identQuote(k), identQuote(k), keyTypes[i])).Scan(&rec, &val)
			if err == nil {
				return &InputError{Record: rec, Column: k, Code: "bad_key", Msg: fmt.Sprintf("key value %q is not a %s (the dataset's type of %s)", val, keyTypes[i], k)}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("ingest: duckdb: %w", err)
			}
			if err := s.exec(ctx, fmt.Sprintf("ALTER TABLE inc ALTER %s TYPE %s USING CAST(%s AS %s)", identQuote(k), keyTypes[i], identQuote(k), keyTypes[i])); err != nil {
				return err
			}
		}
	}
	rs, err := s.conn.QueryContext(ctx, "SELECT name FROM pragma_table_info('inc') WHERE name <> '_rec' ORDER BY cid")
	if err != nil {
		return fmt.Errorf("ingest: duckdb: %w", err)
	}
	defer rs.Close()
	s.cols = s.cols[:0]
	for rs.Next() {
		var n string
		if err := rs.Scan(&n); err != nil {
			return fmt.Errorf("ingest: duckdb: %w", err)
		}
		s.cols = append(s.cols, n)
	}
	return rs.Err()
}

// checkInput refuses a NULL key and, for an upsert, a key given twice
// (naming the records); a delete's repeated keys are harmless.
func (s *keySession) checkInput(ctx context.Context, key []string, unique bool) error {
	isNull := make([]string, len(key))
	for i, k := range key {
		isNull[i] = identQuote(k) + " IS NULL"
	}
	var rec int64
	err := s.conn.QueryRowContext(ctx, "SELECT _rec FROM inc WHERE "+strings.Join(isNull, " OR ")+" ORDER BY _rec LIMIT 1").Scan(&rec)
	if err == nil {
		return &InputError{Record: rec, Code: "bad_key", Msg: fmt.Sprintf("no value for the key (%s): every row needs one", strings.Join(key, ", "))}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ingest: duckdb: %w", err)
	}
	if !unique {
		return nil
	}
	var first int64
	var shown string
	q := fmt.Sprintf(`SELECT _rec, first_value(_rec) OVER w, concat_ws(', ', %s) FROM inc
		WINDOW w AS (PARTITION BY %s ORDER BY _rec) QUALIFY _rec <> first_value(_rec) OVER w ORDER BY _rec LIMIT 1`,
		keyDisplay(key), identList(key, ""))
	err = s.conn.QueryRowContext(ctx, q).Scan(&rec, &first, &shown)
	if err == nil {
		return &InputError{Record: rec, Code: "duplicate_key", Msg: fmt.Sprintf("key (%s) appears twice in the input, in records %d and %d; an upsert takes one row per key", shown, first, rec)}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ingest: duckdb: %w", err)
	}
	return nil
}

// keyDisplay renders key columns as "col=value" terms for a message.
func keyDisplay(key []string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = fmt.Sprintf("%s || '=' || coalesce(CAST(%s AS VARCHAR), 'NULL')", sqlQuote(k), identQuote(k))
	}
	return strings.Join(parts, ", ")
}

// identList quotes names, each prefixed with the table alias when given.
func identList(names []string, alias string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = identQuote(n)
		if alias != "" {
			out[i] = alias + "." + out[i]
		}
	}
	return strings.Join(out, ", ")
}

// footerRanges reads each local part's range of column col from its
// footer (parquet_metadata reads no data page); nil where the footer has
// no statistics for it or DuckDB names the file differently.
func (s *keySession) footerRanges(ctx context.Context, paths []string, col, typ string) ([]*catalog.KeyRange, error) {
	out := make([]*catalog.KeyRange, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	list := make([]string, len(paths))
	for i, p := range paths {
		list[i] = sqlQuote(p)
	}
	q := fmt.Sprintf(`SELECT list_position([%[2]s], file_name),
			CAST(min(TRY_CAST(stats_min_value AS %[1]s)) AS VARCHAR), CAST(max(TRY_CAST(stats_max_value AS %[1]s)) AS VARCHAR),
			bool_or(stats_min_value IS NULL OR stats_max_value IS NULL OR TRY_CAST(stats_min_value AS %[1]s) IS NULL OR TRY_CAST(stats_max_value AS %[1]s) IS NULL)
		FROM parquet_metadata([%[2]s]) WHERE path_in_schema = %[3]s GROUP BY file_name`, typ, strings.Join(list, ", "), sqlQuote(col))
	rs, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ingest: read part footers: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var pos sql.NullInt64
		var lo, hi sql.NullString
		var unknown sql.NullBool
		if err := rs.Scan(&pos, &lo, &hi, &unknown); err != nil {
			return nil, fmt.Errorf("ingest: read part footers: %w", err)
		}
		if !pos.Valid || pos.Int64 < 1 || int(pos.Int64) > len(paths) || !lo.Valid || !hi.Valid || unknown.Bool {
			continue
		}
		out[pos.Int64-1] = &catalog.KeyRange{Column: col, Min: lo.String, Max: hi.String}
	}
	return out, rs.Err()
}

// withRanges returns files with each one's key range read from its local
// copy (paths, in the same order).
func (s *keySession) withRanges(ctx context.Context, files []catalog.File, paths []string, col, typ string) ([]catalog.File, error) {
	if len(files) != len(paths) {
		return files, nil // a delete's inputs are not parts of the dataset
	}
	ranges, err := s.footerRanges(ctx, paths, col, typ)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(files)
	for i := range out {
		out[i].KeyRange = ranges[i]
	}
	return out, nil
}

// candidates marks the parts whose range of column col could hold an
// incoming key; a part whose range is unknown could hold any.
func (s *keySession) candidates(ctx context.Context, ranges []*catalog.KeyRange, col, typ string) ([]bool, error) {
	maybe := make([]bool, len(ranges))
	var rows []string
	for i, r := range ranges {
		if r == nil {
			maybe[i] = true
			continue
		}
		rows = append(rows, fmt.Sprintf("(%d, %s, %s)", i, sqlQuote(r.Min), sqlQuote(r.Max)))
	}
	if len(rows) == 0 {
		return maybe, nil
	}
	q := fmt.Sprintf(`SELECT r.i FROM (VALUES %s) r(i, lo, hi)
		WHERE TRY_CAST(r.lo AS %[2]s) IS NULL OR TRY_CAST(r.hi AS %[2]s) IS NULL
			OR EXISTS (SELECT 1 FROM inc WHERE inc.%[3]s BETWEEN CAST(r.lo AS %[2]s) AND CAST(r.hi AS %[2]s))`,
		strings.Join(rows, ", "), typ, identQuote(col))
	rs, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ingest: prune parts: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var i int
		if err := rs.Scan(&i); err != nil {
			return nil, fmt.Errorf("ingest: prune parts: %w", err)
		}
		if i >= 0 && i < len(maybe) {
			maybe[i] = true
		}
	}
	return maybe, rs.Err()
}

// keyMatch is the join condition of a stored part (p) and inc (i) on key.
func keyMatch(key, keyTypes []string) string {
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = fmt.Sprintf("CAST(p.%s AS %s) = i.%s", identQuote(k), keyTypes[i], identQuote(k))
	}
	return strings.Join(conds, " AND ")
}

// partColumns selects a stored part's (p) columns cast to the version's
// types, so a rewritten part reads exactly as the one it replaces.
func partColumns(schema []catalog.Column) string {
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = fmt.Sprintf("CAST(p.%s AS %s) AS %s", identQuote(c.Name), c.Type, identQuote(c.Name))
	}
	return strings.Join(cols, ", ")
}

// take moves the rows of the candidate parts (indexes into paths) whose
// key is in inc into old, in one statement, and returns how many each
// part lost.
func (s *keySession) take(ctx context.Context, paths []string, cands []int, schema []catalog.Column, key, keyTypes []string) ([]int64, error) {
	removed := make([]int64, len(paths))
	if len(cands) == 0 {
		return removed, nil
	}
	list := make([]string, len(cands))
	for j, i := range cands {
		list[j] = sqlQuote(paths[i])
	}
	// _part is the part's index in paths: its position in the candidate
	// list mapped through cands (a CASE over a list of positions).
	idx := make([]string, len(cands))
	for j, i := range cands {
		idx[j] = strconv.Itoa(i)
	}
	q := fmt.Sprintf(`INSERT INTO old SELECT %s, [%s][list_position([%s], p.filename)] FROM read_parquet([%s], filename = true) p SEMI JOIN inc i ON %s`,
		partColumns(schema), strings.Join(idx, ", "), strings.Join(list, ", "), strings.Join(list, ", "), keyMatch(key, keyTypes))
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	rs, err := s.conn.QueryContext(ctx, "SELECT _part, count(*) FROM old GROUP BY _part")
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var part sql.NullInt64
		var n int64
		if err := rs.Scan(&part, &n); err != nil {
			return nil, fmt.Errorf("duckdb: %w", err)
		}
		if !part.Valid || part.Int64 < 0 || int(part.Int64) >= len(paths) {
			return nil, errors.New("ingest: a row taken out names no part (DuckDB named a file differently)")
		}
		removed[part.Int64] = n
	}
	return removed, rs.Err()
}

// rewrite writes the rows of the parts at paths whose key is not in inc
// to files of about partSize bytes in the directory out.
func (s *keySession) rewrite(ctx context.Context, paths []string, schema []catalog.Column, key, keyTypes []string, out string, rowGroup int, partSize int64) error {
	if rowGroup <= 0 {
		rowGroup = 122880
	}
	list := make([]string, len(paths))
	for i, p := range paths {
		list[i] = sqlQuote(p)
	}
	// Parquet is a third of the CSV a part is sized by, roughly.
	q := fmt.Sprintf("COPY (SELECT %s FROM read_parquet([%s]) p ANTI JOIN inc i ON %s) TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d, FILE_SIZE_BYTES %d)",
		partColumns(schema), strings.Join(list, ", "), keyMatch(key, keyTypes), sqlQuote(out), rowGroup, max(partSize/3, 1<<20))
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	return nil
}

// countChange fills the row counts: for an upsert, incoming keys found
// (updated, or unchanged when every column is equal) and not found
// (inserted); for a delete, rows taken out and keys not found.
func (s *keySession) countChange(ctx context.Context, req Request, schema []catalog.Column, ch *ChangeStats) error {
	hasOld := true
	if _, err := s.conn.ExecContext(ctx, "SELECT 1 FROM old LIMIT 0"); err != nil {
		hasOld = false // a new dataset: nothing was read
	}
	on := make([]string, len(req.Key))
	for i, k := range req.Key {
		on[i] = fmt.Sprintf("o.%s = i.%s", identQuote(k), identQuote(k))
	}
	total, err := s.count(ctx, "SELECT count(*) FROM inc")
	if err != nil {
		return err
	}
	if req.Mode == ModeDelete {
		distinct, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM inc)", identList(req.Key, "")))
		if err != nil {
			return err
		}
		if !hasOld {
			ch.UnknownKeys = distinct
			return nil
		}
		ch.Deleted, err = s.count(ctx, "SELECT count(*) FROM old")
		if err != nil {
			return err
		}
		found, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM inc i SEMI JOIN old o ON %s)",
			identList(req.Key, "i"), strings.Join(on, " AND ")))
		if err != nil {
			return err
		}
		ch.UnknownKeys = distinct - found
		return nil
	}
	if !hasOld {
		ch.Inserted = total
		return nil
	}
	found, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM inc i SEMI JOIN old o ON %s", strings.Join(on, " AND ")))
	if err != nil {
		return err
	}
	same := make([]string, 0, len(schema))
	for _, c := range schema {
		if slices.Contains(s.cols, c.Name) {
			same = append(same, fmt.Sprintf("o.%s IS NOT DISTINCT FROM i.%s", identQuote(c.Name), identQuote(c.Name)))
		}
	}
	unchanged, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM inc i JOIN old o ON %s WHERE %s", strings.Join(on, " AND "), strings.Join(same, " AND ")))
	if err != nil {
		return err
	}
	ch.Inserted, ch.Updated, ch.Unchanged = total-found, found-unchanged, unchanged
	return nil
}
