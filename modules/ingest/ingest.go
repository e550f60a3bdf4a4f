package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"lakehouse/internal/cpus"
	"lakehouse/internal/fsx"
	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Modes of an ingest into an existing dataset.
const (
	ModeAppend  = "append"  // new version = previous parts + the new part(s); same schema
	ModeReplace = "replace" // new version = the new part(s) only; the schema may change
)

// ErrInvalid wraps bad request parameters (400).
var ErrInvalid = kit.NewKind(http.StatusBadRequest, "bad_request", "invalid ingest request")

// Options tune the converter (config [ingest]).
type Options struct {
	SampleRows   int
	PartSize     int64
	RowGroupRows int
	Workers      int
	// MaxColumns caps the header's columns (0 = 4096).
	MaxColumns int
	// MaxRecordBytes caps one record (0 = 64 MiB).
	MaxRecordBytes int
	// TempDir holds spooled uploads and parts being written; it should be
	// on the same file system as a local store so parts are renamed into
	// place instead of copied.
	TempDir string
}

// Request is one ingest.
type Request struct {
	Dataset string
	Mode    string // "" = append; replace, upsert, delete
	// Key names the key columns of an upsert or a delete ("" = the
	// dataset's declared key).
	Key            []string
	IdempotencyKey string
	Source         string // recorded in the manifest (e.g. the file name)
	Delimiter      byte   // 0 = sniff among , ; tab |
	// Quote is the quote character: `"`, "'" or "none"; "" = sniff.
	Quote string
	// Encoding names the input's encoding (utf-8, utf-16, utf-16le,
	// utf-16be, windows-1252, latin-1 and their aliases); "" = detect.
	Encoding string
	// DateFormat and TimestampFormat are strftime-like layouts (%d/%m/%Y,
	// %m/%d/%Y %H:%M) that replace the built-in day/month styles; ISO
	// dates and timestamps are still recognised. "" = detect.
	DateFormat, TimestampFormat string
	// Format is csv, tsv, json (ndjson), parquet or xlsx; "" = detect from
	// ContentType, then FileName's extension, then the first bytes.
	Format string
	// FileName is the upload's name (multipart file name, filename=, the
	// CLI's path); ContentType its media type. Both only hint the format.
	FileName, ContentType string
	// Sheet names the xlsx worksheet to read (a name, or a 1-based
	// position); "" = the first. HeaderRow is the 1-based row holding the
	// column names; 0 = detect.
	Sheet     string
	HeaderRow int
	Progress  *Progress

	// textColumns are columns read as VARCHAR whatever their values look
	// like (an xlsx column holding text cells: "007" stays "007").
	textColumns map[string]bool
	// keyed: the dataset has, or this request declares, a key.
	keyed bool
}

// reqOptions are a Request's dialect settings, checked.
type reqOptions struct {
	encoding   string // canonical; "" = detect
	quote      byte   // 0 with quoteGiven: no quoting
	quoteGiven bool
	styles     []*dateStyle
}

// options checks the request's dialect settings (400 when one is bad).
func (req *Request) options() (reqOptions, error) {
	var o reqOptions
	var err error
	if o.encoding, err = parseEncoding(req.Encoding); err != nil {
		return o, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if o.quote, o.quoteGiven, err = parseQuote(req.Quote); err != nil {
		return o, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch d := req.Delimiter; {
	case d == '\n' || d == '\r':
		return o, fmt.Errorf("%w: the delimiter cannot be a line break", ErrInvalid)
	case d != 0 && o.quoteGiven && d == o.quote:
		return o, fmt.Errorf("%w: the delimiter and the quote cannot be the same character (%q)", ErrInvalid, d)
	}
	if o.styles, err = dateStyles(req.DateFormat, req.TimestampFormat); err != nil {
		return o, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := req.formatOptions(); err != nil {
		return o, err
	}
	return o, nil
}

// Stats describe one ingest run.
type Stats struct {
	// Format is what the input was read as (csv, tsv, json, parquet,
	// xlsx); FormatBy what decided it: "format=", "content-type", "file
	// name" or "content" (the first bytes).
	Format     string `json:"format"`
	FormatBy   string `json:"format_detected_by"`
	InputBytes int64  `json:"input_bytes"`
	Rows       int64  `json:"rows"`
	Parts      int    `json:"parts"`
	Passes     int    `json:"passes"`
	Delimiter  string `json:"delimiter"`
	// How the input was read, and whether each choice was detected (true)
	// or given in the request (false). Quote is the quote character or
	// "none"; Encoding the canonical name (utf-8, utf-16le, utf-16be,
	// windows-1252, latin-1); BOM whether a byte order mark was dropped.
	DelimiterDetected bool   `json:"delimiter_detected"`
	Quote             string `json:"quote"`
	QuoteDetected     bool   `json:"quote_detected"`
	Encoding          string `json:"encoding"`
	EncodingDetected  bool   `json:"encoding_detected"`
	BOM               bool   `json:"bom"`
	// DateFormats says, per DATE or TIMESTAMP column, the layout its
	// values were read with.
	DateFormats []DateFormat `json:"date_formats,omitempty"`
	// Notes explain choices the reader should check (an encoding guessed
	// from invalid UTF-8, dates that read both as m/d/Y and d/m/Y).
	Notes []string `json:"notes,omitempty"`
	// Sheet and HeaderRow say which worksheet of an xlsx was read and
	// which row held the column names (1-based).
	Sheet     string  `json:"sheet,omitempty"`
	HeaderRow int     `json:"header_row,omitempty"`
	Widened   []Widen `json:"widened,omitempty"`
	ElapsedMS float64 `json:"elapsed_ms"`
	// Phase times: splitting the input into spans, converting, and
	// publishing + registering.
	SplitMS   float64 `json:"split_ms"`
	ConvertMS float64 `json:"convert_ms"`
	PublishMS float64 `json:"publish_ms"`
	// Change is what an upsert or a delete by key did.
	Change *ChangeStats `json:"change,omitempty"`
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// DateFormat is how one DATE or TIMESTAMP column's values were read:
// Format is a strftime-like layout ([...] marks optional parts), Detected
// is false when it came from dateformat= / timestampformat=, Ambiguous
// is true when every sampled value read both month-first and day-first
// (the choice is then explained in Notes).
type DateFormat struct {
	Column    string `json:"column"`
	Type      string `json:"type"`
	Format    string `json:"format"`
	Detected  bool   `json:"detected"`
	Ambiguous bool   `json:"ambiguous,omitempty"`
}

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
	met   *metrics // nil outside the module

	locksMu sync.Mutex
	locks   map[string]*sync.RWMutex
	// slots bounds the ingests converting at once (one per CPU).
	slots chan struct{}
	// filters caches parts' key filters an upsert or delete probes.
	filters filterCache
}

// NewIngester builds an Ingester.
func NewIngester(cat catalog.Catalog, store storage.Store, opt Options, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	if opt.Workers <= 0 {
		opt.Workers = cpus.N()
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
	if opt.MaxColumns <= 0 {
		opt.MaxColumns = 4096
	}
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = defaultMaxRecord
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	return &Ingester{cat: cat, store: store, opt: opt, log: log, mem: memory.NewGoAllocator(), locks: map[string]*sync.RWMutex{},
		slots: make(chan struct{}, max(1, cpus.N()))}
}

// convertSlot waits for one of the CPU slots conversion may use (see
// ingestFile); the returned release may be called more than once.
func (in *Ingester) convertSlot(ctx context.Context) (func(), error) {
	select {
	case in.slots <- struct{}{}:
	case <-ctx.Done():
		return func() {}, fmt.Errorf("ingest: waiting to convert: %w", ctx.Err())
	}
	var once sync.Once
	return func() { once.Do(func() { <-in.slots }) }, nil
}

// lock orders the ingests of one dataset in this process: appends share
// it (they convert side by side and meet at the catalog's group commit);
// a replace, upsert or delete holds it alone. An upsert is built on the
// latest version and must start over when an append commits first, so
// without this a steady stream of appends could starve it; a waiting
// holder keeps new appends out (sync.RWMutex), so it waits for the
// appends in flight only. Writers in other processes or through the
// catalog's own route are still caught by the catalog (base_moved).
func (in *Ingester) lock(name, mode string) (unlock func()) {
	in.locksMu.Lock()
	mu, ok := in.locks[name]
	if !ok {
		mu = &sync.RWMutex{}
		in.locks[name] = mu
	}
	in.locksMu.Unlock()
	if mode == ModeAppend {
		mu.RLock()
		return mu.RUnlock
	}
	mu.Lock()
	return mu.Unlock
}

// keyedPartDivisor is how many times smaller a keyed dataset's parts are:
// copy-on-write rewrites a whole part, so an upsert of a few recent keys
// costs one small part, not 128 MiB of input (measured at 1 GiB: one
// default part made a 1% clustered upsert 6× faster than a replace; an
// eighth of it is what makes it 10×+).
const keyedPartDivisor = 8

// partSize is the input bytes one part holds at most for req.
func (in *Ingester) partSize(req Request) int64 {
	if req.keyed {
		return max(in.opt.PartSize/keyedPartDivisor, 1<<20)
	}
	return in.opt.PartSize
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
	prev, err := in.prepare(ctx, &req)
	if err != nil {
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
	_, err = io.Copy(f, fsx.ContextReader(ctx, r))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("ingest: read upload: %w", err)
	}
	return in.ingestAny(ctx, path, req, prev)
}

// prepare validates the request before any byte of the upload is read,
// with the ingest's one catalog call before it registers: the catalog
// refuses a name a user may not write (invalid, internal) and returns the
// latest version (nil for a new dataset), from which the sample's types
// start and against which drift is found early. The catalog checks again
// when the version is registered; its rules decide.
func (in *Ingester) prepare(ctx context.Context, req *Request) (*catalog.Manifest, error) {
	if _, err := req.options(); err != nil {
		return nil, err
	}
	switch req.Mode {
	case "":
		req.Mode = ModeAppend
	case ModeAppend, ModeReplace, ModeUpsert, ModeDelete:
	default:
		return nil, fmt.Errorf("%w: mode must be append, replace, upsert or delete, not %q", ErrInvalid, req.Mode)
	}

	if err := catalog.ValidateName(req.Dataset); err != nil {
		return nil, err
	}
	prev, err := in.cat.Prepare(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	if byKey(req.Mode) {
		if err := prepareByKey(req, prev); err != nil {
			return nil, err
		}
	}
	// A replace may bring a new schema: its key is checked against the
	// input only (commit).
	if prev != nil && req.Mode != ModeReplace {
		if err := keyInDataset(req, prev); err != nil {
			return nil, err
		}
	}
	req.keyed = len(req.Key) > 0 || (prev != nil && len(prev.Key) > 0)
	if req.Mode == ModeReplace || req.Mode == ModeDelete {
		// A replace continues nothing: any schema goes. A delete's input
		// is keys, cast to the dataset's types later.
		return nil, nil
	}
	return prev, nil
}

// IngestFile converts the CSV file at path into Parquet parts, publishes
// them under datasets/<name>/<sha256>.parquet and registers a version.
// Nothing is registered unless every part is completely written; a
// failure leaves the catalog and the live version's files untouched.
func (in *Ingester) IngestFile(ctx context.Context, path string, req Request) (Result, error) {
	prev, err := in.prepare(ctx, &req)
	if err != nil {
		return Result{}, err
	}
	if req.FileName == "" {
		req.FileName = path
	}
	return in.ingestAny(ctx, path, req, prev)
}

// ingestFile is IngestFile once the request is prepared; prev is the
// version an append continues (nil: none, or a replace).
func (in *Ingester) ingestFile(ctx context.Context, path string, req Request, prev *catalog.Manifest) (res Result, err error) {
	defer func() { in.met.done(res, err) }()
	began := time.Now()
	opts, err := req.options()
	if err != nil {
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
	// Appends convert in parallel and meet at the catalog, which commits
	// those that queue behind one commit as the next version (group
	// commit) and checks each against the version it lands on. A replace,
	// upsert or delete is one at a time, with no append converting (lock).
	defer in.lock(req.Dataset, req.Mode)()

	// The CPU-bound part (transcoding, sampling, conversion) runs for at
	// most as many ingests at once as there are CPUs: appends of one
	// dataset no longer wait for each other, and a hundred of them must
	// not starve every other request of the CPU. The slot is given back
	// before the commit, so appends still meet there and group.
	release, err := in.convertSlot(ctx)
	if err != nil {
		return Result{}, err
	}
	defer release()

	enc, err := chooseEncoding(f, size, opts.encoding, in.opt.Workers)
	if err != nil {
		return Result{}, err
	}
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	var input io.ReaderAt = f
	inputSize := size
	if enc.transcodes() {
		// Everything after this reads UTF-8: the input is transcoded into
		// the work dir as a stream (one buffer in memory), then split and
		// converted in parallel like any file.
		tf, n, err := transcodeFile(f, size, enc, filepath.Join(dir, "input.utf8.csv"), req.Progress)
		if err != nil {
			return Result{}, err
		}
		defer tf.Close()
		input, inputSize = tf, n
		if req.Progress != nil {
			req.Progress.Total.Store(inputSize)
		}
	}

	plan, err := in.plan(input, inputSize, req, opts, prev)
	if err != nil {
		return Result{}, err
	}
	plan.partSize = in.partSize(req)

	parts, nulls, stats, err := in.convert(ctx, input, plan, dir, req.Progress)
	if err != nil {
		return Result{}, err
	}
	release()
	stats.InputBytes = size
	stats.Delimiter = string(plan.delim)
	stats.DelimiterDetected = req.Delimiter == 0
	stats.Quote, stats.QuoteDetected = quoteName(plan.quote), !opts.quoteGiven
	stats.Encoding, stats.EncodingDetected, stats.BOM = enc.name, enc.detected, enc.bom
	if enc.note != "" {
		stats.Notes = append(stats.Notes, enc.note)
	}
	formats, notes := plan.dateReport()
	stats.DateFormats = formats
	stats.Notes = append(stats.Notes, notes...)
	schema := make([]catalog.Column, len(plan.names))
	for i, n := range plan.names {
		schema[i] = catalog.Column{Name: n, Type: plan.kinds[i].final().duckType(), Nullable: nulls[i]}
	}
	// Refused here, before any part is published, by the catalog's rule.
	if err := catalog.CheckDrift(req.Dataset, plan.prev, schema); err != nil {
		return Result{}, err
	}

	res, err = in.finish(ctx, req, schema, parts, stats, began)
	var ie *InputError
	if errors.As(err, &ie) && ie.Record > 0 && ie.Line == 0 {
		// A by-key check names records (rows of the converted input);
		// a CSV's reader wants lines, which only the text knows.
		lines := recordLines(input, inputSize, plan, ie.FirstRecord, ie.Record)
		ie.Line, ie.FirstLine = lines[ie.Record], lines[ie.FirstRecord]
		if ie.FirstLine > 0 && ie.Line > 0 {
			ie.Msg = strings.Replace(ie.Msg, fmt.Sprintf("in records %d and %d", ie.FirstRecord, ie.Record),
				fmt.Sprintf("in records %d and %d (lines %d and %d)", ie.FirstRecord, ie.Record, ie.FirstLine, ie.Line), 1)
		}
	}
	return res, err
}

// recordLines finds the lines the given data records (1-based, as the
// converted rows count them; 0 is ignored) start on, by reading the CSV
// again from its first data line: only on this error path.
func recordLines(input io.ReaderAt, size int64, plan *ingestPlan, recs ...int64) map[int64]int64 {
	out := map[int64]int64{}
	var last int64
	for _, r := range recs {
		last = max(last, r)
	}
	p := newParser(input, plan.dataStart, size, plan.delim, plan.dataLine, 64<<10).withQuote(plan.quote)
	for n := int64(1); n <= last; n++ {
		_, line, err := p.next()
		if err != nil {
			break
		}
		if slices.Contains(recs, n) {
			out[n] = line
		}
	}
	return out
}

// transcodeFile writes f (size bytes, in enc) as UTF-8 to path and
// returns it opened for reading, with its size.
func transcodeFile(f *os.File, size int64, enc encodingChoice, path string, prog *Progress) (*os.File, int64, error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, 0, fmt.Errorf("ingest: transcode: %w", err)
	}
	var count func(int64)
	if prog != nil {
		count = func(n int64) { prog.add(n, 0) }
	}
	if err := transcode(out, io.NewSectionReader(f, enc.skip, size-enc.skip), enc.name, count); err != nil {
		out.Close()
		return nil, 0, err
	}
	st, err := out.Stat()
	if err != nil {
		out.Close()
		return nil, 0, fmt.Errorf("ingest: transcode: %w", err)
	}
	return out, st.Size(), nil
}

// beforeRegister, when set (tests only, see export_test.go), runs between
// publishing the parts and registering the version: the kill -9 test
// stops the process exactly there.
var beforeRegister func()
