package ingest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"lakehouse/internal/cpus"
	"lakehouse/modules/catalog"
)

// JSON and Parquet inputs are rewritten into parts by an in-memory DuckDB
// (one thread, duckMemoryLimit, spilling into the work dir): JSON after
// normalizeJSON checked it record by record and wrote it as NDJSON,
// Parquet after checkParquet checked its footer. The parts follow the
// CSV converter's conventions (Snappy, ingest.row_group_rows rows per row
// group, about ingest.part_size bytes per part, microsecond timestamps,
// content-addressed keys) and go through the same drift check, publish
// and registration.

// duckMemoryLimit bounds one conversion's DuckDB.
const duckMemoryLimit = "512MB"

// otherSlots bounds the xlsx and DuckDB conversions running at once (one
// per CPU): each holds a DuckDB of duckMemoryLimit or a sheet reader.
var otherSlots = make(chan struct{}, max(1, cpus.N()))

// otherSlot waits for a conversion slot; release may be called twice.
func otherSlot(ctx context.Context) (func(), error) {
	select {
	case otherSlots <- struct{}{}:
	case <-ctx.Done():
		return func() {}, fmt.Errorf("ingest: waiting to convert: %w", ctx.Err())
	}
	done := false
	return func() {
		if !done {
			done = true
			<-otherSlots
		}
	}, nil
}

// workDuck opens an in-process DuckDB for one ingest's work in dir:
// threads and memory bounded, spilling under dir, rows kept in order, no
// extension fetched or loaded.
func workDuck(ctx context.Context, dir string, threads int, memLimit string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: open duckdb: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("ingest: open duckdb: %w", err)
	}
	for _, q := range []string{fmt.Sprintf("SET threads = %d", threads), "SET memory_limit = " + sqlQuote(memLimit),
		"SET preserve_insertion_order = true", "SET temp_directory = " + sqlQuote(filepath.Join(dir, "spill")),
		"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			db.Close()
			return nil, nil, fmt.Errorf("ingest: duckdb %s: %w", q, err)
		}
	}
	return db, conn, nil
}

// duckCol is a column as DuckDB reads it and as it is stored.
type duckCol struct {
	name   string
	src    string // the type DuckDB inferred (JSON) or read (Parquet)
	typ    string // the type stored
	nullOK bool   // the input holds only nulls: any existing type fits
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func identQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ingestDuck converts a JSON or Parquet input with DuckDB and registers
// the parts.
func (in *Ingester) ingestDuck(ctx context.Context, f *os.File, size int64, format string, req Request, prev *catalog.Manifest) (res Result, err error) {
	defer func() { in.met.done(res, err) }()
	began := time.Now()
	defer in.lock(req.Dataset, req.Mode)()
	if req.Progress != nil {
		req.Progress.Total.Store(size)
	}
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	release, err := otherSlot(ctx)
	if err != nil {
		return Result{}, err
	}
	defer release()
	stats := Stats{InputBytes: size, Passes: 1}
	convStart := time.Now()

	input, err := filepath.Abs(f.Name())
	if err != nil {
		return Result{}, fmt.Errorf("ingest: input path: %w", err)
	}
	switch format {
	case FormatJSON:
		input = filepath.Join(dir, "input.ndjson")
		if _, err := normalizeJSON(ctx, f, size, input, in.opt.MaxRecordBytes, req.Progress); err != nil {
			return Result{}, err
		}
	case FormatParquet:
		info, err := checkParquet(f, size, in.opt.MaxColumns)
		if err != nil {
			return Result{}, err
		}
		if info.rows == 0 {
			return Result{}, &InputError{Format: FormatParquet, Msg: "the Parquet file holds no rows"}
		}
	}
	hide := []string{input, dir, f.Name()}

	db, conn, err := workDuck(ctx, dir, 1, duckMemoryLimit)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	defer conn.Close()

	// JSON: the types are inferred from every record (sample_size = -1):
	// read_json with fixed columns would silently drop a key first seen
	// after a sample.
	src := "read_parquet(" + sqlQuote(input) + ")"
	if format == FormatJSON {
		src = jsonSource(input, -1, in.opt.MaxRecordBytes, nil)
	}
	cols, err := describeDuck(ctx, conn, src)
	if err != nil {
		return Result{}, duckInputError(ctx, err, format, hide)
	}
	cols, notes, err := in.storedTypes(cols, format, prev)
	if err != nil {
		return Result{}, err
	}
	// Drift is refused before anything is converted.
	sampled := make([]catalog.Column, len(cols))
	for i, c := range cols {
		sampled[i] = catalog.Column{Name: c.name, Type: c.typ}
	}
	if err := catalog.CheckDrift(req.Dataset, prev, sampled); err != nil {
		return Result{}, err
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = identQuote(c.name)
		if format == FormatParquet && c.typ != c.src {
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", identQuote(c.name), c.typ, identQuote(c.name))
		}
	}
	if format == FormatJSON {
		src = jsonSource(input, -1, in.opt.MaxRecordBytes, cols)
	}
	outDir := filepath.Join(dir, "parts")
	q := fmt.Sprintf("COPY (SELECT %s FROM %s) TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d, FILE_SIZE_BYTES %d)",
		strings.Join(sel, ", "), src, sqlQuote(outDir), in.opt.RowGroupRows, in.partSize(req))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return Result{}, duckInputError(ctx, err, format, hide)
	}
	parts, nulls, err := duckParts(ctx, conn, outDir, cols)
	if err != nil {
		return Result{}, err
	}
	release()
	var rows int64
	for _, p := range parts {
		rows += p.rows
	}
	if req.Progress != nil {
		req.Progress.add(0, rows)
		if format == FormatParquet {
			req.Progress.add(size, 0)
		}
	}
	stats.Rows, stats.Parts, stats.ConvertMS = rows, len(parts), msSince(convStart)
	stats.Notes = notes
	schema := make([]catalog.Column, len(cols))
	for i, c := range cols {
		schema[i] = catalog.Column{Name: c.name, Type: c.typ, Nullable: nulls[i]}
	}
	if err := catalog.CheckDrift(req.Dataset, prev, schema); err != nil {
		return Result{}, err
	}
	return in.finish(ctx, req, schema, parts, stats, began, "format", format)
}

// jsonSource is the read_json call over the normalized NDJSON; cols, when
// given, fixes every column's type (and the column order).
func jsonSource(path string, sample, maxRec int, cols []duckCol) string {
	s := fmt.Sprintf("read_json(%s, format = 'newline_delimited', records = true, sample_size = %d, maximum_object_size = %d",
		sqlQuote(path), sample, maxRec+16)
	if cols != nil {
		kv := make([]string, len(cols))
		for i, c := range cols {
			kv[i] = sqlQuote(c.name) + ": " + sqlQuote(c.typ)
		}
		s += ", columns = {" + strings.Join(kv, ", ") + "}"
	}
	return s + ")"
}

// describeDuck returns the columns of SELECT * FROM src.
func describeDuck(ctx context.Context, conn *sql.Conn, src string) ([]duckCol, error) {
	rs, err := conn.QueryContext(ctx, "DESCRIBE SELECT * FROM "+src)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	n, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var cols []duckCol
	for rs.Next() {
		vals := make([]any, len(n))
		var name, typ sql.NullString
		vals[0], vals[1] = &name, &typ
		for i := 2; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rs.Scan(vals...); err != nil {
			return nil, err
		}
		cols = append(cols, duckCol{name: name.String, src: typ.String})
	}
	return cols, rs.Err()
}

// storedTypes checks the input's columns (names as the CSV header's are
// checked) and decides each one's stored type: DuckDB's, normalized
// (nanosecond and millisecond timestamps as microseconds, unsigned
// integers as the next signed type, enums as VARCHAR; for JSON, objects
// whose keys vary as JSON text), or, when appending, the existing type if
// the values fit it (integers into DOUBLE, dates into TIMESTAMP, anything
// into VARCHAR). An append takes the existing column order when the
// names are the same (JSON keys have no order).
func (in *Ingester) storedTypes(cols []duckCol, format string, prev *catalog.Manifest) ([]duckCol, []string, error) {
	bad := func(col, format2 string, args ...any) error {
		return &InputError{Format: format, Column: col, Msg: fmt.Sprintf(format2, args...)}
	}
	if len(cols) == 0 {
		return nil, nil, bad("", "the input has no columns")
	}
	if len(cols) > in.opt.MaxColumns {
		return nil, nil, bad("", "the input has %d columns; at most %d are allowed (ingest.max_columns)", len(cols), in.opt.MaxColumns)
	}
	seen := map[string]string{}
	var asJSON []string
	for i := range cols {
		c := &cols[i]
		if len(c.name) > maxColumnName {
			return nil, nil, bad("", "a column name of %d bytes; at most %d are allowed", len(c.name), maxColumnName)
		}
		if err := catalog.ValidateColumnName(c.name); err != nil {
			return nil, nil, bad("", "column name %q: %v", c.name, err)
		}
		if other, dup := seen[strings.ToLower(c.name)]; dup {
			return nil, nil, bad(c.name, "duplicate column name %q (%q is another; names are compared ignoring case)", c.name, other)
		}
		seen[strings.ToLower(c.name)] = c.name
		t, err := normalizeType(c.src, format == FormatJSON)
		if err != nil {
			return nil, nil, bad(c.name, "type %s cannot be stored: %v", c.src, err)
		}
		if err := catalog.ValidateType(t); err != nil {
			return nil, nil, bad(c.name, "type %s cannot be stored: %v", c.src, err)
		}
		if format == FormatJSON && t != c.src && strings.Contains(t, "JSON") && !strings.Contains(c.src, "JSON") {
			asJSON = append(asJSON, c.name)
		}
		c.typ = t
		c.nullOK = strings.EqualFold(c.src, "NULL")
	}
	var notes []string
	if len(asJSON) > 0 {
		notes = append(notes, fmt.Sprintf("objects whose keys vary from record to record are kept as JSON text in column(s) %s", strings.Join(asJSON, ", ")))
	}
	if prev == nil || len(prev.Schema) != len(cols) {
		return cols, notes, nil
	}
	byName := map[string]duckCol{}
	for _, c := range cols {
		byName[c.name] = c
	}
	ordered := make([]duckCol, 0, len(cols))
	for _, pc := range prev.Schema {
		c, ok := byName[pc.Name]
		if !ok {
			return cols, notes, nil // a different set of names: drift, reported by the caller
		}
		if c.typ != pc.Type && (c.nullOK || typeFits(pc.Type, c.typ)) {
			c.typ = pc.Type
		}
		ordered = append(ordered, c)
	}
	return ordered, notes, nil
}

// typeFits reports whether values DuckDB typed have may be stored in a
// column of type existing without changing what they mean.
func typeFits(existing, have string) bool {
	switch {
	case existing == have, existing == "VARCHAR", existing == "JSON":
		return true
	case existing == "DOUBLE":
		return slices.Contains([]string{"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "FLOAT"}, have)
	case existing == "BIGINT":
		return slices.Contains([]string{"INTEGER", "SMALLINT", "TINYINT"}, have)
	case existing == "TIMESTAMP":
		return have == "DATE"
	}
	return false
}

// duckParts lists the files the COPY wrote (data_0.parquet, data_1, ...
// in order), hashes and fsyncs each, and reads each column's nullability
// from their statistics (a nested column is nullable).
func duckParts(ctx context.Context, conn *sql.Conn, outDir string, cols []duckCol) ([]partResult, []bool, error) {
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: parts: %w", err)
	}
	type named struct {
		n    int
		path string
	}
	var files []named
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".parquet")
		i := strings.LastIndexByte(base, '_')
		n, err := strconv.Atoi(base[i+1:])
		if err != nil || !strings.HasSuffix(e.Name(), ".parquet") {
			return nil, nil, fmt.Errorf("ingest: unexpected file %s in the COPY output", e.Name())
		}
		files = append(files, named{n, filepath.Join(outDir, e.Name())})
	}
	slices.SortFunc(files, func(a, b named) int { return a.n - b.n })
	glob := sqlQuote(filepath.Join(outDir, "*.parquet"))
	rowsOf := map[string]int64{}
	rs, err := conn.QueryContext(ctx, "SELECT file_name, num_rows FROM parquet_file_metadata("+glob+")")
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: part metadata: %w", err)
	}
	for rs.Next() {
		var name string
		var n int64
		if err := rs.Scan(&name, &n); err != nil {
			rs.Close()
			return nil, nil, fmt.Errorf("ingest: part metadata: %w", err)
		}
		rowsOf[filepath.Base(name)] = n
	}
	rs.Close()
	nullCount := map[string]int64{}
	rs, err = conn.QueryContext(ctx, "SELECT path_in_schema, sum(coalesce(stats_null_count, 1))::BIGINT FROM parquet_metadata("+glob+") GROUP BY path_in_schema")
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: part metadata: %w", err)
	}
	for rs.Next() {
		var p string
		var n int64
		if err := rs.Scan(&p, &n); err != nil {
			rs.Close()
			return nil, nil, fmt.Errorf("ingest: part metadata: %w", err)
		}
		nullCount[p] = n
	}
	rs.Close()
	nulls := make([]bool, len(cols))
	for i, c := range cols {
		n, ok := nullCount[c.name]
		nulls[i] = !ok || n > 0 || strings.ContainsAny(c.typ, "([")
	}
	var parts []partResult
	for i, nf := range files {
		rows := rowsOf[filepath.Base(nf.path)]
		if rows == 0 {
			continue
		}
		p, err := hashPart(nf.path)
		if err != nil {
			return nil, nil, err
		}
		p.index, p.rows = i, rows
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, nil, errors.New("ingest: the conversion wrote no rows")
	}
	return parts, nulls, nil
}

// hashPart hashes and fsyncs a finished part.
func hashPart(path string) (partResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return partResult{}, fmt.Errorf("ingest: open part: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return partResult{}, fmt.Errorf("ingest: read part: %w", err)
	}
	if err := f.Sync(); err != nil {
		return partResult{}, fmt.Errorf("ingest: fsync part: %w", err)
	}
	return partResult{path: path, bytes: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

var (
	duckLineRE     = regexp.MustCompile(`\bline (\d+)`)
	duckFileRE     = regexp.MustCompile(`\s*(?:in|of) file "[^"]*"`)
	duckQuotedPath = regexp.MustCompile(`"/[^"]*"`)
)

// duckInputError turns a DuckDB error while reading the input into a 400
// naming the problem (and the record, for JSON) without a server path;
// running out of memory is a 413; a cancelled request stays cancelled.
func duckInputError(ctx context.Context, err error, format string, hide []string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	if strings.Contains(msg, "No space left") {
		return fmt.Errorf("ingest: convert: %w", err)
	}
	msg = duckFileRE.ReplaceAllString(msg, "")
	slices.SortFunc(hide, func(a, b string) int { return len(b) - len(a) })
	for _, h := range hide {
		if h != "" {
			msg = strings.ReplaceAll(msg, h, "the input")
		}
	}
	msg = duckQuotedPath.ReplaceAllString(msg, `"…"`)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(msg)
	if strings.Contains(msg, "Out of Memory") || strings.Contains(msg, "out of memory") {
		return &InputError{Format: format, Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Msg: fmt.Sprintf("converting the input needs more than ingest's %s of memory (%s)", duckMemoryLimit, msg)}
	}
	what := "cannot read the Parquet data"
	if format == FormatJSON {
		what = "cannot convert the JSON records"
	}
	e := &InputError{Format: format, Msg: what + " (DuckDB: " + msg + ")"}
	if format == FormatJSON {
		if m := duckLineRE.FindStringSubmatch(msg); m != nil {
			e.Record, _ = strconv.ParseInt(m[1], 10, 64) // the normalized input has one record per line
		}
	}
	return e
}

// normalizeType rewrites a DuckDB type name into the one stored: see
// storedTypes. json turns MAP types (DuckDB's guess for objects whose
// keys vary) and all-null values into JSON text.
func normalizeType(t string, json bool) (string, error) {
	l := &typeLexer{s: t}
	out, err := l.typ(json, 0)
	if err != nil {
		return "", err
	}
	l.space()
	if l.i < len(l.s) {
		return "", fmt.Errorf("unexpected %q", l.s[l.i:])
	}
	return out, nil
}

type typeLexer struct {
	s string
	i int
}

func (l *typeLexer) space() {
	for l.i < len(l.s) && l.s[l.i] == ' ' {
		l.i++
	}
}

func (l *typeLexer) eat(c byte) bool {
	l.space()
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

func (l *typeLexer) expect(c byte) error {
	if !l.eat(c) {
		return fmt.Errorf("expected %q at byte %d", c, l.i)
	}
	return nil
}

// word reads a name: a quoted identifier (returned unquoted) or a run of
// characters up to a space or one of (),[]".
func (l *typeLexer) word() (string, bool, error) {
	l.space()
	if l.i < len(l.s) && l.s[l.i] == '"' {
		var b strings.Builder
		for j := l.i + 1; j < len(l.s); j++ {
			if l.s[j] == '"' {
				if j+1 < len(l.s) && l.s[j+1] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				l.i = j + 1
				return b.String(), true, nil
			}
			b.WriteByte(l.s[j])
		}
		return "", false, errors.New("unterminated quoted name")
	}
	j := l.i
	for j < len(l.s) && !strings.ContainsRune(" (),[]\"", rune(l.s[j])) {
		j++
	}
	if j == l.i {
		return "", false, fmt.Errorf("expected a name at byte %d", l.i)
	}
	w := l.s[l.i:j]
	l.i = j
	return w, false, nil
}

var simpleIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldName prints a STRUCT field name as the catalog's grammar takes it.
func fieldName(n string) string {
	if simpleIdent.MatchString(n) {
		return n
	}
	return identQuote(n)
}

// renamed are the types stored as another.
var renamed = map[string]string{
	"TIMESTAMP_NS": "TIMESTAMP", "TIMESTAMP_MS": "TIMESTAMP", "TIMESTAMP_S": "TIMESTAMP",
	"UTINYINT": "SMALLINT", "USMALLINT": "INTEGER", "UINTEGER": "BIGINT", "UBIGINT": "DECIMAL(20,0)",
}

func (l *typeLexer) typ(json bool, depth int) (string, error) {
	if depth > 32 {
		return "", errors.New("nested deeper than 32 levels")
	}
	w, quoted, err := l.word()
	if err != nil {
		return "", err
	}
	if quoted {
		return "", fmt.Errorf("unexpected quoted name %q", w)
	}
	u := strings.ToUpper(w)
	var out string
	switch u {
	case "STRUCT", "UNION":
		if err := l.expect('('); err != nil {
			return "", err
		}
		var fields []string
		for {
			name, _, err := l.word()
			if err != nil {
				return "", err
			}
			ft, err := l.typ(json, depth+1)
			if err != nil {
				return "", err
			}
			fields = append(fields, fieldName(name)+" "+ft)
			if l.eat(',') {
				continue
			}
			if err := l.expect(')'); err != nil {
				return "", err
			}
			break
		}
		out = u + "(" + strings.Join(fields, ", ") + ")"
	case "MAP":
		if err := l.expect('('); err != nil {
			return "", err
		}
		k, err := l.typ(json, depth+1)
		if err != nil {
			return "", err
		}
		if err := l.expect(','); err != nil {
			return "", err
		}
		v, err := l.typ(json, depth+1)
		if err != nil {
			return "", err
		}
		if err := l.expect(')'); err != nil {
			return "", err
		}
		out = "MAP(" + k + ", " + v + ")"
		if json {
			out = "JSON"
		}
	case "DECIMAL", "NUMERIC", "VARCHAR", "CHAR", "BPCHAR":
		out = u
		if l.eat('(') {
			j := strings.IndexByte(l.s[l.i:], ')')
			if j < 0 {
				return "", errors.New("unterminated (")
			}
			args := strings.ReplaceAll(l.s[l.i:l.i+j], " ", "")
			l.i += j + 1
			if u == "DECIMAL" || u == "NUMERIC" {
				out = "DECIMAL(" + args + ")"
			} else {
				out = "VARCHAR"
			}
		}
	case "ENUM":
		if err := l.expect('('); err != nil {
			return "", err
		}
		for inStr := false; ; l.i++ {
			if l.i >= len(l.s) {
				return "", errors.New("unterminated ENUM(")
			}
			c := l.s[l.i]
			if c == '\'' {
				inStr = !inStr
			} else if c == ')' && !inStr {
				l.i++
				break
			}
		}
		out = "VARCHAR"
	case "TIMESTAMP", "TIME":
		out = u
		save := l.i
		if a, _, err := l.word(); err == nil && strings.EqualFold(a, "WITH") {
			b, _, _ := l.word()
			c, _, _ := l.word()
			if strings.EqualFold(b, "TIME") && strings.EqualFold(c, "ZONE") {
				out = u + " WITH TIME ZONE"
				break
			}
		}
		l.i = save
	case "NULL":
		out = "VARCHAR"
		if json && depth > 0 {
			out = "JSON"
		}
	default:
		out = u
		if r, ok := renamed[u]; ok {
			out = r
		}
	}
	for l.eat('[') {
		j := strings.IndexByte(l.s[l.i:], ']')
		if j < 0 {
			return "", errors.New("unterminated [")
		}
		out += "[" + strings.TrimSpace(l.s[l.i:l.i+j]) + "]"
		l.i += j + 1
	}
	return out, nil
}
