package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// Modes of an ingest into an existing dataset.
const (
	ModeAppend  = "append"  // new version = previous parts + the new part(s); same schema
	ModeReplace = "replace" // new version = the new part(s) only; the schema may change
)

// ErrInvalid wraps bad request parameters (400).
var ErrInvalid = errors.New("invalid ingest request")

// Options tune the converter (config [ingest]).
type Options struct {
	SampleRows   int
	PartSize     int64
	RowGroupRows int
	Workers      int
	// TempDir holds spooled uploads and parts being written; it should be
	// on the same file system as a local store so parts are renamed into
	// place instead of copied.
	TempDir string
}

// Request is one ingest.
type Request struct {
	Dataset        string
	Mode           string // "" = append
	IdempotencyKey string
	Source         string // recorded in the manifest (e.g. the file name)
	Delimiter      byte   // 0 = sniff among , ; tab |
	Progress       *Progress
}

// Stats describe one ingest run.
type Stats struct {
	InputBytes int64   `json:"input_bytes"`
	Rows       int64   `json:"rows"`
	Parts      int     `json:"parts"`
	Passes     int     `json:"passes"`
	Delimiter  string  `json:"delimiter"`
	Widened    []Widen `json:"widened,omitempty"`
	ElapsedMS  float64 `json:"elapsed_ms"`
	// Phase times: splitting the input into spans, converting, and
	// publishing + registering.
	SplitMS   float64 `json:"split_ms"`
	ConvertMS float64 `json:"convert_ms"`
	PublishMS float64 `json:"publish_ms"`
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// Widen records a column whose sampled type a later value broke.
type Widen struct {
	Column string `json:"column"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// Result is a finished ingest: the version's manifest and whether it
// already existed (an idempotent replay).
type Result struct {
	Manifest catalog.Manifest
	Existing bool
	Stats    Stats
}

// Ingester converts CSV to Parquet parts and registers them.
type Ingester struct {
	cat   catalog.Catalog
	store storage.Store
	opt   Options
	log   *slog.Logger
	mem   memory.Allocator

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex
}

// NewIngester builds an Ingester.
func NewIngester(cat catalog.Catalog, store storage.Store, opt Options, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.SampleRows <= 0 {
		opt.SampleRows = 10000
	}
	if opt.PartSize <= 0 {
		opt.PartSize = 128 << 20
	}
	if opt.RowGroupRows <= 0 {
		opt.RowGroupRows = 122880
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	return &Ingester{cat: cat, store: store, opt: opt, log: log, mem: memory.NewGoAllocator(), locks: map[string]*sync.Mutex{}}
}

// lock serialises ingests into one dataset, so an append always builds on
// the version it read.
func (in *Ingester) lock(name string) func() {
	in.locksMu.Lock()
	mu, ok := in.locks[name]
	if !ok {
		mu = &sync.Mutex{}
		in.locks[name] = mu
	}
	in.locksMu.Unlock()
	mu.Lock()
	return mu.Unlock
}

func (in *Ingester) workDir() (string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	dir := filepath.Join(in.opt.TempDir, "ingest-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("ingest: work dir: %w", err)
	}
	return dir, nil
}

// IngestReader spools r to a temp file (bounded memory whatever its size)
// and ingests it.
func (in *Ingester) IngestReader(ctx context.Context, r io.Reader, req Request) (Result, error) {
	if err := checkRequest(&req); err != nil {
		return Result{}, err
	}
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "upload.csv")
	f, err := os.Create(path)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: spool: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("ingest: read upload: %w", err)
	}
	return in.IngestFile(ctx, path, req)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func checkRequest(req *Request) error {
	if err := catalog.ValidateName(req.Dataset); err != nil {
		return err
	}
	switch req.Mode {
	case "":
		req.Mode = ModeAppend
	case ModeAppend, ModeReplace:
	default:
		return fmt.Errorf("%w: mode must be append or replace, not %q", ErrInvalid, req.Mode)
	}
	return nil
}

// IngestFile converts the CSV file at path into Parquet parts, publishes
// them under datasets/<name>/<sha256>.parquet and registers a version.
// Nothing is registered unless every part is completely written; a
// failure leaves the catalog and the live version's files untouched.
func (in *Ingester) IngestFile(ctx context.Context, path string, req Request) (Result, error) {
	began := time.Now()
	if err := checkRequest(&req); err != nil {
		return Result{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: open input: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("ingest: stat input: %w", err)
	}
	size := st.Size()
	if req.Progress != nil {
		req.Progress.Total.Store(size)
	}
	unlock := in.lock(req.Dataset)
	defer unlock()

	plan, err := in.plan(ctx, f, size, req)
	if err != nil {
		return Result{}, err
	}
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)

	parts, nulls, stats, err := in.convert(ctx, f, plan, dir, req.Progress)
	if err != nil {
		return Result{}, err
	}
	stats.InputBytes = size
	stats.Delimiter = string(plan.delim)
	schema := make([]catalog.Column, len(plan.names))
	for i, n := range plan.names {
		schema[i] = catalog.Column{Name: n, Type: plan.kinds[i].final().duckType(), Nullable: nulls[i]}
	}
	if plan.prev != nil && req.Mode == ModeAppend && catalog.Fingerprint(schema) != plan.prev.SchemaFingerprint {
		return Result{}, catalog.Diff(req.Dataset, plan.prev.Schema, schema)
	}

	pubStart := time.Now()
	files, err := in.publish(ctx, req.Dataset, parts)
	if err != nil {
		return Result{}, err
	}
	if beforeRegister != nil {
		beforeRegister()
	}
	res, err := in.register(ctx, req, plan.prev, schema, files)
	stats.ElapsedMS = msSince(began)
	stats.PublishMS = msSince(pubStart)
	res.Stats = stats
	return res, err
}

// beforeRegister, when set (tests only, see export_test.go), runs between
// publishing the parts and registering the version: the kill -9 test
// stops the process exactly there.
var beforeRegister func()

// ingestPlan is what the header and the sample decided.
type ingestPlan struct {
	delim     byte
	names     []string
	kinds     []kind
	dataStart int64
	dataLine  int64
	size      int64
	prev      *catalog.Manifest
	workers   int
	avgBytes  []float64
	noDict    []bool
}

func (k kind) final() kind {
	if k == kNull {
		return kString
	}
	return k
}

func (in *Ingester) plan(ctx context.Context, r io.ReaderAt, size int64, req Request) (*ingestPlan, error) {
	start := int64(0)
	if hasBOM(r, size) {
		start = 3
	}
	if size-start == 0 {
		return nil, &CSVError{Line: 1, Column: 1, Msg: "empty file (a header line is required)"}
	}
	pl := &ingestPlan{delim: req.Delimiter, size: size, workers: in.opt.Workers}
	if pl.delim == 0 {
		pl.delim = sniffDelimiter(r, start, size)
	}
	p := newParser(r, start, size, pl.delim, 1, 1<<20)
	fs, _, err := p.next()
	if err == io.EOF {
		return nil, &CSVError{Line: 1, Column: 1, Msg: "empty file (a header line is required)"}
	}
	if err != nil {
		return nil, err
	}
	if pl.names, err = headerNames(p, fs); err != nil {
		return nil, err
	}
	pl.dataStart = p.off - int64(p.n-p.pos)
	pl.dataLine = p.line
	ncols := len(pl.names)
	pl.kinds = make([]kind, ncols)
	sizes := make([]int64, ncols)
	distinct := make([]map[string]struct{}, ncols)
	nonNull := make([]int, ncols)
	for i := range distinct {
		distinct[i] = map[string]struct{}{}
	}
	rows := 0
	for rows < in.opt.SampleRows {
		fs, line, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, withColumnName(err, pl.names)
		}
		if len(fs) != ncols {
			return nil, raggedError(line, len(fs), pl.names)
		}
		for i, f := range fs {
			if f.end == f.start {
				continue
			}
			v := p.value(f)
			sizes[i] += int64(len(v))
			nonNull[i]++
			if len(distinct[i]) < 1<<15 {
				distinct[i][string(v)] = struct{}{}
			}
			if pl.kinds[i] == kString {
				continue
			}
			if !fits(pl.kinds[i], v) {
				pl.kinds[i] = join(pl.kinds[i], classify(v))
			}
		}
		rows++
	}
	if rows == 0 {
		return nil, &CSVError{Line: p.line, Column: 1, Msg: "no data rows (the file has only a header)"}
	}
	pl.avgBytes = make([]float64, ncols)
	pl.noDict = make([]bool, ncols)
	for i := range sizes {
		pl.avgBytes[i] = float64(sizes[i]) / float64(rows)
		// Mostly distinct values (ids, e-mails, free text): PLAIN.
		pl.noDict[i] = nonNull[i] >= 64 && len(distinct[i]) > nonNull[i]/2
	}
	prev, err := in.cat.Get(ctx, req.Dataset)
	switch {
	case err == nil:
		pl.prev = &prev
	case !errors.Is(err, catalog.ErrNotFound):
		return nil, err
	}
	if pl.prev != nil && req.Mode == ModeAppend {
		// Start from the existing types where the sample fits them (a
		// DOUBLE column keeps taking integers), so only a real change of
		// shape is drift.
		sampled := make([]catalog.Column, ncols)
		for i, n := range pl.names {
			sampled[i] = catalog.Column{Name: n, Type: pl.kinds[i].final().duckType()}
		}
		if len(pl.prev.Schema) == ncols {
			same := true
			for i, c := range pl.prev.Schema {
				if c.Name != pl.names[i] {
					same = false
					break
				}
				if ek, ok := kindOf(c.Type); ok && join(ek, pl.kinds[i]) == ek {
					pl.kinds[i] = ek
					sampled[i].Type = c.Type
				}
			}
			if same && catalog.Fingerprint(sampled) == pl.prev.SchemaFingerprint {
				return pl, nil
			}
		}
		return nil, catalog.Diff(req.Dataset, pl.prev.Schema, sampled)
	}
	return pl, nil
}

// convert runs the conversion passes: a pass whose values all fit the
// kinds produces the parts; a pass where some value broke its column's
// kind yields the widened kinds for the next pass.
func (in *Ingester) convert(ctx context.Context, r io.ReaderAt, pl *ingestPlan, dir string, prog *Progress) ([]partResult, []bool, Stats, error) {
	var stats Stats
	splitStart := time.Now()
	// At least one span per worker once the input is big enough to be
	// worth splitting, so every core converts.
	partSize := min(in.opt.PartSize, max((pl.size-pl.dataStart)/int64(pl.workers)+1, 8<<20))
	spans, err := splitSpans(r, pl.dataStart, pl.size, pl.dataLine, partSize, pl.workers)
	if err != nil {
		return nil, nil, stats, err
	}
	stats.SplitMS = msSince(splitStart)
	convStart := time.Now()
	original := slices.Clone(pl.kinds)
	for pass := 1; pass <= 4; pass++ {
		stats.Passes = pass
		if prog != nil {
			prog.bytes.Store(0)
			prog.rows.Store(0)
		}
		env := &convertEnv{r: r, delim: pl.delim, names: pl.names, kinds: pl.kinds, rgRows: in.opt.RowGroupRows, progress: prog, mem: in.mem, avgBytes: pl.avgBytes, noDict: pl.noDict}
		results := runPass(ctx, env, spans, dir, pass, pl.workers)
		// The earliest error in file order wins: spans are in order.
		for _, res := range results {
			if res.err != nil {
				return nil, nil, stats, res.err
			}
		}
		var widened []kind
		for _, res := range results {
			if res.widen == nil {
				continue
			}
			if widened == nil {
				widened = slices.Clone(pl.kinds)
			}
			for i, k := range res.widen {
				widened[i] = join(widened[i], k)
			}
		}
		if widened == nil {
			nulls := make([]bool, len(pl.names))
			for _, res := range results {
				for i, n := range res.nulls {
					nulls[i] = nulls[i] || n
				}
			}
			for i := range pl.kinds {
				if pl.kinds[i] != original[i] {
					stats.Widened = append(stats.Widened, Widen{Column: pl.names[i], From: original[i].final().duckType(), To: pl.kinds[i].final().duckType()})
				}
			}
			var parts []partResult
			var rows int64
			for _, res := range results {
				if res.rows > 0 {
					parts = append(parts, res)
				} else {
					_ = os.Remove(res.path)
				}
				rows += res.rows
			}
			stats.Parts, stats.Rows = len(parts), rows
			stats.ConvertMS = msSince(convStart)
			return parts, nulls, stats, nil
		}
		for _, res := range results {
			_ = os.Remove(res.path)
		}
		in.log.Info("ingest: a value broke a sampled column type; widening and converting again", "pass", pass)
		pl.kinds = widened
	}
	return nil, nil, stats, errors.New("ingest: column types did not settle after 4 passes")
}

// runPass converts every span on `workers` goroutines. A span that fails
// cancels the spans after it (their errors could only come later in the
// file); spans before it finish, so the earliest error is the one kept.
func runPass(ctx context.Context, env *convertEnv, spans []span, dir string, pass, workers int) []partResult {
	results := make([]partResult, len(spans))
	ctxs := make([]context.Context, len(spans))
	cancels := make([]context.CancelFunc, len(spans))
	for i := range spans {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	jobs := make(chan int, len(spans))
	for i := range spans {
		jobs <- i
	}
	close(jobs)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(spans)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := ctxs[i].Err(); err != nil {
					results[i] = partResult{index: i, err: err}
					continue
				}
				job := partJob{index: i, span: spans[i], path: filepath.Join(dir, fmt.Sprintf("p%d-%05d.parquet", pass, i))}
				res := convertSpan(ctxs[i], env, job)
				results[i] = res
				if res.err != nil {
					for j := i + 1; j < len(spans); j++ {
						cancels[j]()
					}
				}
			}
		}()
	}
	wg.Wait()
	return results
}
