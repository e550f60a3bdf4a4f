package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/catalog"
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
	// Parts: rewritten without the changed rows (what they keep is
	// written as new parts), dropped (every row changed), kept by
	// reference (no incoming key: pruned by their key range or found to
	// hold none), checked (read because their range could hold a key),
	// filtered (kept unread: their range could hold a key, their key
	// filter holds none); bytes of parts written, the new rows' included.
	PartsRewritten int   `json:"parts_rewritten"`
	PartsDropped   int   `json:"parts_dropped"`
	PartsKept      int   `json:"parts_kept"`
	PartsChecked   int   `json:"parts_checked"`
	PartsFiltered  int   `json:"parts_filtered"`
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
	return nil
}

// keyInDataset refuses (400) a key naming a column the dataset lacks.
func keyInDataset(req *Request, prev *catalog.Manifest) error {
	if missing := missingColumns(req.Key, prev.Schema); len(missing) > 0 {
		return fmt.Errorf("%w: key column %s is not in dataset %q (its columns: %s)", ErrInvalid,
			strings.Join(missing, ", "), req.Dataset, columnNames(prev.Schema))
	}
	return nil
}

// keyInInput refuses (400) a key naming a column the input lacks.
func keyInInput(key []string, schema []catalog.Column) error {
	if missing := missingColumns(key, schema); len(missing) > 0 {
		return &InputError{Code: "bad_key", Msg: fmt.Sprintf("key column %s is not in the input (its columns: %s)",
			strings.Join(missing, ", "), columnNames(schema))}
	}
	return nil
}

func missingColumns(names []string, schema []catalog.Column) []string {
	var missing []string
	for _, n := range names {
		if !slices.ContainsFunc(schema, func(c catalog.Column) bool { return c.Name == n }) {
			missing = append(missing, strconv.Quote(n))
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

// applyByKey builds and registers the version an upsert or a delete
// makes from the latest one: parts that may hold an incoming key (by
// their range of the key's first column, kept in the manifest or read
// from their footers) are read, those
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
	content := fmt.Sprintf("%s:%s:%s", req.Mode, strings.Join(req.Key, ","), joinFileKeys(files, inputs))
	if base == nil {
		// A new dataset: the upsert is its first version, the key declared.
		n, err := s.count(ctx, "SELECT count(*) FROM inc")
		if err != nil {
			return Result{}, err
		}
		ch.Inserted = n
		// Ranges only: filters come once a change shows ranges do not prune.
		if files, err = s.keyedInputs(ctx, files, inputs, req.Key, keyTypes, nil); err != nil {
			return Result{}, err
		}
		for _, f := range files {
			ch.BytesWritten += f.Bytes
		}
		m, existing, err := in.cat.Register(ctx, catalog.RegisterRequest{
			Name: req.Dataset, Schema: schema, Files: files, Source: req.Source, IdempotencyKey: req.IdempotencyKey,
			IdempotencyContent: content, Key: req.Key, FilesVerified: true,
		})
		return Result{Manifest: m, Existing: existing, Stats: Stats{Change: ch}}, err
	}
	if err := s.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE unch AS SELECT %s FROM inc WHERE false", identList(req.Key, ""))); err != nil {
		return Result{}, err
	}
	pl, err := in.planParts(ctx, s, req, *base, keyTypes, dir, ch)
	if err != nil {
		return Result{}, err
	}
	next, err := in.applyParts(ctx, s, req, *base, keyTypes, pl, dir, ch)
	if err != nil {
		return Result{}, err
	}
	if err := s.countChange(ctx, req, ch); err != nil {
		return Result{}, err
	}
	if ch.Inserted == 0 && ch.Updated == 0 && ch.Deleted == 0 && slices.Equal(req.Key, base.Key) {
		// Nothing changes: the latest version is the answer (a replay of
		// the same upsert lands here too), and no part was written.
		ch.PartsKept, ch.BytesWritten = len(base.Files), 0
		return Result{Manifest: *base, Existing: true, Stats: Stats{Change: ch}}, nil
	}
	newSchema := base.Schema
	if req.Mode == ModeUpsert {
		added, err := in.incomingParts(ctx, s, req, files, inputs, keyTypes, pl, dir, ch)
		if err != nil {
			return Result{}, err
		}
		next = append(next, added...)
		newSchema = slices.Clone(schema)
		for i := range newSchema {
			if j := slices.IndexFunc(base.Schema, func(c catalog.Column) bool { return c.Name == newSchema[i].Name }); j >= 0 && base.Schema[j].Nullable {
				newSchema[i].Nullable = true
			}
		}
	}
	if err := in.storeFilters(ctx, pl.built); err != nil {
		return Result{}, err
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

// incomingParts is what an upsert adds to the version: its input parts,
// each with its key range and filter, or, when some incoming rows equal
// stored ones whose parts stay as they are, the input written again
// without them.
func (in *Ingester) incomingParts(ctx context.Context, s *keySession, req Request, files []catalog.File, inputs, keyTypes []string,
	pl *partPlan, dir string, ch *ChangeStats) ([]catalog.File, error) {
	var err error
	built := pl.built
	if !pl.wantFilters {
		built = nil
	}
	if pl.keptSame == 0 {
		if files, err = s.keyedInputs(ctx, files, inputs, req.Key, keyTypes, built); err != nil {
			return nil, err
		}
		for _, f := range files {
			ch.BytesWritten += f.Bytes
		}
		return files, nil
	}
	want := ch.Inserted + ch.Updated + ch.Unchanged - pl.keptSame
	if want == 0 {
		return nil, nil
	}
	out := filepath.Join(dir, "incoming")
	rowGroup := in.opt.RowGroupRows
	if rowGroup <= 0 {
		rowGroup = 122880
	}
	q := fmt.Sprintf(`COPY (SELECT %s FROM inc i WHERE NOT EXISTS (SELECT 1 FROM unch u WHERE %s) ORDER BY i._rec)
		TO %s (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d, FILE_SIZE_BYTES %d)`,
		identList(s.cols, "i"), keyMatchOn(req.Key, "i", "u"), sqlQuote(out), rowGroup, max(in.partSize(req)/3, 1<<20))
	if err := s.exec(ctx, q); err != nil {
		return nil, err
	}
	parts, err := rewrittenParts(ctx, s, out, want)
	if err != nil {
		return nil, err
	}
	local := make([]string, len(parts))
	placeholders := make([]catalog.File, len(parts))
	for j, p := range parts {
		local[j] = p.path
		placeholders[j] = catalog.File{Key: partKey(req.Dataset, p.sha256), Rows: p.rows}
	}
	keyed, err := s.keyedInputs(ctx, placeholders, local, req.Key, keyTypes, built) // before publish moves them
	if err != nil {
		return nil, err
	}
	pub, err := in.publish(ctx, req.Dataset, parts)
	if err != nil {
		return nil, err
	}
	for j := range pub {
		pub[j].KeyRange, pub[j].KeyFilter = keyed[j].KeyRange, keyed[j].KeyFilter
		ch.BytesWritten += pub[j].Bytes
	}
	return pub, nil
}
