package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lakehouse/modules/storage"
)

// compactRun is a run of consecutive small parts merged into one.
type compactRun struct {
	files []File
	out   File
}

// smallRuns finds the runs of consecutive small parts (under half the
// target size) worth merging: only consecutive parts, so the rows keep
// their order, and at most a target's worth per run. It returns nil
// unless the version holds at least minParts small parts.
func smallRuns(files []File, target int64, minParts int) [][]File {
	if minParts <= 0 {
		return nil
	}
	small := 0
	for _, f := range files {
		if f.Bytes < target/2 {
			small++
		}
	}
	if small < minParts {
		return nil
	}
	var runs [][]File
	var cur []File
	var size int64
	flush := func() {
		if len(cur) >= 2 {
			runs = append(runs, cur)
		}
		cur, size = nil, 0
	}
	for _, f := range files {
		if f.Bytes >= target/2 || size+f.Bytes > target {
			flush()
		}
		if f.Bytes < target/2 {
			cur = append(cur, f)
			size += f.Bytes
		}
	}
	flush()
	return runs
}

func (m *maintainer) needsCompaction(name string) bool {
	if m.s.reservedBy(name) != "" {
		return false
	}
	man, err := m.s.Get(context.Background(), name)
	return err == nil && smallRuns(man.Files, m.opt.TargetPartBytes, m.opt.CompactMinParts) != nil
}

// compactResult is what one compaction did.
type compactResult struct {
	CompactedParts int
	NewParts       int
	CompactVersion int
	Expired        []int
	Error          string
}

// compact merges a dataset's runs of small parts into parts of about
// the target size and commits them as a new version with the same rows
// (an Iceberg "replace" snapshot). The merging runs outside the writer
// lock, so appends go on meanwhile; the commit takes the latest version
// as it is then and replaces each run only if that version still holds
// it (a replace in between makes the compaction moot). Internal datasets
// compact themselves (the observer's part names carry its event ids).
func (m *maintainer) compact(ctx context.Context, name string, dryRun bool) compactResult {
	var res compactResult
	if m.s.reservedBy(name) != "" {
		return res
	}
	man, err := m.s.Get(ctx, name)
	if err != nil {
		return res
	}
	runs := smallRuns(man.Files, m.opt.TargetPartBytes, m.opt.CompactMinParts)
	if len(runs) == 0 {
		return res
	}
	if dryRun {
		for _, r := range runs {
			res.CompactedParts += len(r)
			res.NewParts++
		}
		return res
	}
	var done []compactRun
	for _, r := range runs {
		out, err := m.mergeParts(ctx, name, man.Schema, r)
		if err != nil {
			res.Error = fmt.Sprintf("compact %s: %v", name, err)
			return res
		}
		done = append(done, compactRun{files: r, out: out})
	}
	unlock := m.s.lockDataset(name)
	v, expired, err := m.s.commitCompaction(ctx, name, man.SchemaFingerprint, done)
	unlock()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if v == nil {
		return res
	}
	for _, r := range done {
		res.CompactedParts += len(r.files)
		res.NewParts++
	}
	res.CompactVersion, res.Expired = v.Version, expired
	m.s.notify(Change{Name: name, Version: v.Version, Manifest: v, Pruned: expired})
	m.log.Info("catalog: compacted small parts", "dataset", name, "version", v.Version,
		"parts", res.CompactedParts, "into", res.NewParts)
	return res
}

// commitCompaction commits the compacted runs on top of the latest
// version (the dataset's writer lock held). It returns nil when the latest version no longer
// holds a run or has another schema.
func (s *Store) commitCompaction(ctx context.Context, name, fingerprint string, runs []compactRun) (*Manifest, []int, error) {
	s.cacheM.RLock()
	prev, live := s.latest[name]
	s.cacheM.RUnlock()
	if !live || prev.SchemaFingerprint != fingerprint {
		return nil, nil, nil
	}
	files := slices.Clone(prev.Files)
	absorbed := map[string]string{}
	for _, r := range runs {
		at := slices.IndexFunc(files, func(f File) bool { return f.Key == r.files[0].Key })
		if at < 0 || at+len(r.files) > len(files) {
			return nil, nil, nil
		}
		for i, f := range r.files {
			if files[at+i].Key != f.Key {
				return nil, nil, nil // the run is no longer consecutive: leave it
			}
			absorbed[f.Key] = r.out.Key
		}
		files = slices.Replace(files, at, at+len(r.files), r.out)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := prev
	m.Version, m.Files, m.CreatedAt, m.UpdatedAt = prev.Version+1, files, now, now
	m.Source, m.IdempotencyKey, m.IdempotencyKeys, m.Compacted, m.Absorbed = "compaction", "", nil, true, absorbed
	var latest int
	if err := s.db.QueryRowContext(ctx, `SELECT latest_version FROM datasets WHERE name = ?`, name).Scan(&latest); err != nil {
		return nil, nil, fmt.Errorf("catalog: read dataset %q: %w", name, err)
	}
	m.Version = latest + 1
	expired, err := s.commitNew(ctx, m, &prev, true, nil, absorbed)
	if err != nil {
		return nil, nil, err
	}
	return &m, expired, nil
}

// mergeParts writes the rows of parts, in order, as one Parquet part of
// the dataset (content-addressed, like ingest's) and returns it. DuckDB
// reads and writes: each column is cast to the version's type, so the
// part reads exactly as the ones it replaces.
func (m *maintainer) mergeParts(ctx context.Context, name string, schema []Column, parts []File) (File, error) {
	dir, err := m.workDir()
	if err != nil {
		return File{}, err
	}
	defer os.RemoveAll(dir)
	paths := make([]string, len(parts))
	var want int64
	for i, f := range parts {
		p, err := m.localCopy(ctx, dir, f.Key, i)
		if err != nil {
			return File{}, err
		}
		paths[i] = p
		want += f.Rows
	}
	out := filepath.Join(dir, "compacted.parquet")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return File{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return File{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{"SET threads = 1", "SET memory_limit = '512MB'", "SET preserve_insertion_order = true",
		"SET temp_directory = " + sqlString(filepath.Join(dir, "spill"))} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return File{}, fmt.Errorf("duckdb %s: %w", q, err)
		}
	}
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), c.Type, quoteIdent(c.Name))
	}
	list := make([]string, len(paths))
	for i, p := range paths {
		list[i] = sqlString(p)
	}
	q := fmt.Sprintf("COPY (SELECT %s FROM read_parquet([%s])) TO %s (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
		strings.Join(cols, ", "), strings.Join(list, ", "), sqlString(out))
	r, err := conn.ExecContext(ctx, q)
	if err != nil {
		return File{}, fmt.Errorf("merge %d parts: %w", len(parts), err)
	}
	if n, err := r.RowsAffected(); err == nil && n != want {
		return File{}, fmt.Errorf("merge wrote %d rows, the parts hold %d", n, want)
	}
	return m.publishPart(ctx, name, out, want)
}

// publishPart stores a finished part under its content address.
func (m *maintainer) publishPart(ctx context.Context, name, path string, rows int64) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := fmt.Sprintf("%s%s/%s.parquet", DataPrefix, name, sum)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return File{}, err
	}
	if _, err := m.s.objects.Put(ctx, key, f, size); err != nil {
		return File{}, fmt.Errorf("store compacted part: %w", err)
	}
	return File{Key: key, Bytes: size, Rows: rows, SHA256: sum}, nil
}

// localCopy is a path DuckDB can read for a part: the object itself on
// local disk, a downloaded copy otherwise.
func (m *maintainer) localCopy(ctx context.Context, dir, key string, i int) (string, error) {
	p, err := storage.LocalFile(ctx, m.s.objects, key, filepath.Join(dir, fmt.Sprintf("in-%d.parquet", i)))
	if err != nil {
		return "", fmt.Errorf("compaction: %w", err)
	}
	return p, nil
}

func (m *maintainer) workDir() (string, error) {
	base := m.opt.TempDir
	if base == "" {
		base = os.TempDir()
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	dir := filepath.Join(base, "compact-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("compaction work dir: %w", err)
	}
	return dir, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
