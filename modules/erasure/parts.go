package erasure

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// duck is the job's own DuckDB: it reads a part, counts the matching
// rows and writes the part again without them. It is not the SQL
// module's locked-down engine: it reads only the files the job hands it.
type duck struct {
	db  *sql.DB
	tmp string
}

func openDuck(ctx context.Context, tmp string) (*duck, error) {
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("erasure: temp dir: %w", err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("erasure: open duckdb: %w", err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{"SET threads = 2", "SET memory_limit = '512MB'", "SET preserve_insertion_order = true",
		"SET temp_directory = " + quote(filepath.Join(tmp, "spill")),
		"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("erasure: duckdb %s: %w", q, err)
		}
	}
	return &duck{db: db, tmp: tmp}, nil
}

func (d *duck) Close() error { return d.db.Close() }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// predicate is the SQL condition matching the request in a part with
// these columns (name → DuckDB type), and its arguments; "" when no
// column of the part can match.
func (r *Request) predicate(cols map[string]string) (string, []any) {
	var ors []string
	var args []any
	for col, vals := range r.Match {
		if _, ok := cols[col]; !ok {
			continue
		}
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = "?"
			args = append(args, v)
		}
		ors = append(ors, fmt.Sprintf("CAST(%s AS VARCHAR) IN (%s)", ident(col), strings.Join(ph, ", ")))
	}
	if r.Value != "" {
		for col, typ := range cols {
			if typ == "VARCHAR" || strings.HasPrefix(typ, "VARCHAR") || strings.HasPrefix(typ, "JSON") ||
				strings.HasPrefix(typ, "STRUCT") || strings.HasPrefix(typ, "MAP") || strings.HasSuffix(typ, "[]") {
				ors = append(ors, fmt.Sprintf("contains(lower(CAST(%s AS VARCHAR)), ?)", ident(col)))
				args = append(args, strings.ToLower(r.Value))
			}
		}
	}
	if len(ors) == 0 {
		return "", nil
	}
	return "coalesce(" + strings.Join(ors, " OR ") + ", false)", args
}

// redaction is the audit dataset's rule: the condition finding rows
// whose text columns hold a match value (a whole word) or the free text
// (any case), its arguments, and the select list replacing them.
func (r *Request) redaction(cols map[string]string) (pred string, args []any, sel string) {
	word := r.wordPattern()
	var ors, repl []string
	for col, typ := range cols {
		if typ != "VARCHAR" {
			continue
		}
		c := "CAST(" + ident(col) + " AS VARCHAR)"
		e := ident(col)
		if word != "" {
			ors = append(ors, "regexp_matches("+c+", ?)")
			args = append(args, word)
			e = fmt.Sprintf("regexp_replace(%s, %s, '\\1%s\\3', 'g')", e, quote(word), erased)
		}
		if r.Value != "" {
			ors = append(ors, "contains(lower("+c+"), ?)")
			args = append(args, strings.ToLower(r.Value))
			e = fmt.Sprintf("regexp_replace(%s, %s, %s, 'gi')", e, quote(regexp.QuoteMeta(r.Value)), quote(erased))
		}
		repl = append(repl, e+" AS "+ident(col))
	}
	if len(ors) == 0 {
		return "", nil, ""
	}
	return "coalesce(" + strings.Join(ors, " OR ") + ", false)", args, "* REPLACE (" + strings.Join(repl, ", ") + ")"
}

// partResult is what scanning one part found.
type partResult struct {
	matched int64
	// file replaces the part (nil with matched > 0: no row is left).
	file *catalog.File
}

// scanPart counts the part's matching rows and, when there are any,
// writes it again without them and stores the new part under its
// content-addressed key (the same bytes always land on the same key, so
// a rerun after a crash stores nothing new). keyCol, when set, is the
// dataset's key column whose range the new part records.
//
// With redact (the audit dataset), rows stay and their text columns get
// every match value and the free text replaced instead: who did what and
// when is kept, the person is not.
func (j *runner) scanPart(ctx context.Context, dataset, key, keyCol string, redact bool) (partResult, error) {
	local, cleanup, err := j.localCopy(ctx, key)
	if err != nil {
		return partResult{}, err
	}
	defer cleanup()
	cols, err := j.duck.columns(ctx, local)
	if err != nil {
		return partResult{}, fmt.Errorf("erasure: read %s: %w", key, err)
	}
	pred, args := j.req.predicate(cols)
	var sel string
	if redact {
		pred, args, sel = j.req.redaction(cols)
	}
	if pred == "" {
		return partResult{}, nil
	}
	src := "read_parquet(" + quote(local) + ")"
	matched, err := j.duck.count(ctx, local, pred, args)
	if err != nil {
		return partResult{}, fmt.Errorf("erasure: scan %s: %w", key, err)
	}
	if matched == 0 {
		return partResult{}, nil
	}
	out := filepath.Join(j.duck.tmp, "rewrite.parquet")
	defer os.Remove(out)
	copySQL := fmt.Sprintf("COPY (SELECT * FROM %s WHERE NOT %s) TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)",
		src, pred, quote(out))
	copyArgs := args
	if redact {
		copySQL = fmt.Sprintf("COPY (SELECT %s FROM %s) TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)",
			sel, src, quote(out))
		copyArgs = nil
	}
	if _, err := j.duck.db.ExecContext(ctx, copySQL, copyArgs...); err != nil {
		return partResult{}, fmt.Errorf("erasure: rewrite %s: %w", key, err)
	}
	rows, err := j.duck.count(ctx, out, "true", nil)
	if err != nil {
		return partResult{}, fmt.Errorf("erasure: count %s: %w", key, err)
	}
	if rows == 0 {
		return partResult{matched: matched}, nil
	}
	f, err := j.store(ctx, dataset, out)
	if err != nil {
		return partResult{}, err
	}
	f.Rows = rows
	if _, ok := cols[keyCol]; ok && keyCol != "" {
		var lo, hi sql.NullString
		q := fmt.Sprintf("SELECT CAST(min(%[1]s) AS VARCHAR), CAST(max(%[1]s) AS VARCHAR) FROM read_parquet(%[2]s)", ident(keyCol), quote(out))
		if err := j.duck.db.QueryRowContext(ctx, q).Scan(&lo, &hi); err == nil && lo.Valid && hi.Valid {
			f.KeyRange = &catalog.KeyRange{Column: keyCol, Min: lo.String, Max: hi.String}
		}
	}
	return partResult{matched: matched, file: &f}, nil
}

// count is the number of rows of a Parquet file where pred holds.
func (d *duck) count(ctx context.Context, path, pred string, args []any) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+quote(path)+") WHERE "+pred, args...).Scan(&n)
	return n, err
}

// columns reads a Parquet file's column names and types.
func (d *duck) columns(ctx context.Context, path string) (map[string]string, error) {
	rows, err := d.db.QueryContext(ctx, "DESCRIBE SELECT * FROM read_parquet("+quote(path)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]string{}
	names, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		cols[fmt.Sprint(vals[0])] = fmt.Sprint(vals[1])
	}
	return cols, rows.Err()
}

// localCopy is a local path of the object: the file itself with a local
// store, else a download into the job's temp dir.
func (j *runner) localCopy(ctx context.Context, key string) (string, func(), error) {
	dst := filepath.Join(j.duck.tmp, "part.parquet")
	p, err := storage.LocalFile(ctx, j.objects, key, dst)
	if err != nil {
		return "", func() {}, fmt.Errorf("erasure: %w", err)
	}
	return p, func() {
		if p == dst {
			os.Remove(dst)
		}
	}, nil
}

// store puts a rewritten part under its content-addressed key.
func (j *runner) store(ctx context.Context, dataset, path string) (catalog.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return catalog.File{}, fmt.Errorf("erasure: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return catalog.File{}, fmt.Errorf("erasure: hash part: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := fmt.Sprintf("%s%s/%s.parquet", catalog.DataPrefix, dataset, sum)
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return catalog.File{}, fmt.Errorf("erasure: %w", err)
	}
	if _, err := j.objects.Put(ctx, key, fh, n); err != nil {
		return catalog.File{}, fmt.Errorf("erasure: store %s: %w", key, err)
	}
	return catalog.File{Key: key, Bytes: n, SHA256: sum}, nil
}
