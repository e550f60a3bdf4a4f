package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"lakehouse/internal/cpus"
	"lakehouse/modules/catalog"
)

// keySession is the in-process DuckDB an upsert or delete works in:
// table inc holds the input (a delete's keys cast to the dataset's types,
// _rec its record number), hits the stored rows holding an incoming key,
// unch the keys an upsert leaves as they are. They are tables of the
// session's database, not of one connection: parts are changed two at a
// time, each on its own connection.
type keySession struct {
	db   *sql.DB
	conn *sql.Conn
	cols []string // the input's columns, in order
}

func openKeySession(ctx context.Context, dir string) (*keySession, error) {
	// Rewriting a part holds about a row group per thread; 256 MB keeps
	// an upsert's peak near a replace's (measured: 512 MB let a spread
	// upsert peak 1.7× a replace's), spilling past it.
	db, conn, err := workDuck(ctx, dir, max(1, min(2, cpus.N())), "256MB")
	if err != nil {
		return nil, err
	}
	return &keySession{db: db, conn: conn}, nil
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
	q := fmt.Sprintf("CREATE TABLE inc AS SELECT row_number() OVER (ORDER BY %s) AS _rec, %s FROM %s", order, sel, src)
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
		return &InputError{Record: rec, FirstRecord: first, Code: "duplicate_key",
			Msg: fmt.Sprintf("key (%s) appears twice in the input, in records %d and %d; an upsert takes one row per key", shown, first, rec)}
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

// keyedInputs returns files with each one's key range and, when built is
// not nil, key filter, read from its local copy (paths, in the same
// order); the filters built go into built, by part key, to be stored.
// Publish renames a local part away: read before it.
func (s *keySession) keyedInputs(ctx context.Context, files []catalog.File, paths, key, keyTypes []string, built map[string]*bloom) ([]catalog.File, error) {
	if len(files) != len(paths) {
		return files, nil // a delete's inputs are not parts of the dataset
	}
	ranges, err := s.footerRanges(ctx, paths, key[0], keyTypes[0])
	if err != nil {
		return nil, err
	}
	out := slices.Clone(files)
	for i := range out {
		out[i].KeyRange = ranges[i]
	}
	if built == nil {
		return out, nil
	}
	rows := make([]int64, len(files))
	for i, f := range files {
		rows[i] = f.Rows
	}
	filters, err := s.buildFilters(ctx, paths, rows, key, keyTypes)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].KeyFilter = filterMeta(filters[i], key, keyTypes)
		built[out[i].Key] = filters[i]
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

// keyMatch is the join condition of a stored part's row (p, its columns
// as stored) and a row of alias (of the dataset's types) on key.
func keyMatch(key, keyTypes []string, alias string) string {
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = fmt.Sprintf("CAST(p.%s AS %s) = %s.%s", identQuote(k), keyTypes[i], alias, identQuote(k))
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

// findMatches reads the candidate parts (indexes into paths) in one
// statement, into table hits: each stored row holding an incoming key,
// as its key (of the dataset's types), its part's index and, for an
// upsert, whether the incoming row equals it (_same: every column of
// the dataset, a column the input lacks NULL in the stored row, one the
// dataset lacks NULL in the input). A delete reads the key columns only.
// hits[i] gets part i's count.
func (s *keySession) findMatches(ctx context.Context, paths []string, cands []int, req Request, schema []catalog.Column, keyTypes []string, hits []int64) error {
	key := req.Key
	keys := make([]string, len(key))
	for i, k := range key {
		keys[i] = fmt.Sprintf("CAST(p.%s AS %s) AS %[1]s", identQuote(k), keyTypes[i])
	}
	if len(cands) == 0 {
		return s.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE hits AS SELECT %s, 0 AS _part, false AS _same FROM inc p WHERE false", strings.Join(keys, ", ")))
	}
	list := make([]string, len(cands))
	idx := make([]string, len(cands))
	for j, i := range cands {
		list[j] = sqlQuote(paths[i])
		idx[j] = strconv.Itoa(i)
	}
	same, join := "false", "SEMI JOIN" // a delete's keys may repeat
	if req.Mode == ModeUpsert {
		var eq []string
		for _, c := range schema {
			if slices.Contains(s.cols, c.Name) {
				eq = append(eq, fmt.Sprintf("CAST(p.%s AS %s) IS NOT DISTINCT FROM i.%[1]s", identQuote(c.Name), c.Type))
			} else {
				eq = append(eq, fmt.Sprintf("p.%s IS NULL", identQuote(c.Name)))
			}
		}
		for _, c := range s.cols {
			if !slices.ContainsFunc(schema, func(sc catalog.Column) bool { return sc.Name == c }) {
				eq = append(eq, fmt.Sprintf("i.%s IS NULL", identQuote(c)))
			}
		}
		same, join = "("+strings.Join(eq, " AND ")+")", "JOIN" // an upsert's keys are unique
	}
	// _part is the part's index in paths: its position in the candidate
	// list mapped through cands.
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE hits AS SELECT %s, [%s][list_position([%s], p.filename)] AS _part, %s AS _same
		FROM read_parquet([%s], filename = true) p %s inc i ON %s`,
		strings.Join(keys, ", "), strings.Join(idx, ", "), strings.Join(list, ", "), same, strings.Join(list, ", "), join, keyMatch(key, keyTypes, "i"))
	if err := s.exec(ctx, q); err != nil {
		return err
	}
	if req.Mode == ModeUpsert {
		// A key stored twice is rewritten whatever its values: the new
		// version must hold it once.
		on := identList(key, "")
		if err := s.exec(ctx, fmt.Sprintf(`UPDATE hits SET _same = false WHERE (%[1]s) IN (SELECT (%[1]s) FROM hits GROUP BY %[1]s HAVING count(*) > 1)`, on)); err != nil {
			return err
		}
	}
	rs, err := s.conn.QueryContext(ctx, "SELECT _part, count(*) FROM hits GROUP BY _part")
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var part sql.NullInt64
		var n int64
		if err := rs.Scan(&part, &n); err != nil {
			return fmt.Errorf("duckdb: %w", err)
		}
		if !part.Valid || part.Int64 < 0 || int(part.Int64) >= len(paths) {
			return errors.New("ingest: a matching row names no part (DuckDB named a file differently)")
		}
		hits[part.Int64] = n
	}
	return rs.Err()
}

// countChange fills the row counts from hits (stored rows holding an
// incoming key) and ch.Unchanged (counted as the parts were changed): for
// an upsert, incoming keys not stored (inserted) or stored with other
// values (updated); for a delete, rows taken out and keys not found.
func (s *keySession) countChange(ctx context.Context, req Request, ch *ChangeStats) error {
	on := keyMatchOn(req.Key, "i", "h")
	total, err := s.count(ctx, "SELECT count(*) FROM inc")
	if err != nil {
		return err
	}
	if req.Mode == ModeDelete {
		distinct, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM inc)", identList(req.Key, "")))
		if err != nil {
			return err
		}
		if ch.Deleted, err = s.count(ctx, "SELECT count(*) FROM hits"); err != nil {
			return err
		}
		found, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM inc i SEMI JOIN hits h ON %s)", identList(req.Key, "i"), on))
		if err != nil {
			return err
		}
		ch.UnknownKeys = distinct - found
		return nil
	}
	found, err := s.count(ctx, fmt.Sprintf("SELECT count(*) FROM inc i SEMI JOIN hits h ON %s", on))
	if err != nil {
		return err
	}
	ch.Inserted, ch.Updated = total-found, found-ch.Unchanged
	return nil
}
