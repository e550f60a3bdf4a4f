package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// partJob is one span to convert into one Parquet part.
type partJob struct {
	index int
	span  span
	path  string // temp file to write
}

// partResult is what converting a span produced. widen is non-nil when a
// value did not fit its column's kind: it holds, per column, the kind the
// rest of the span needs (the part file is then incomplete and discarded).
type partResult struct {
	index   int
	rows    int64
	bytes   int64
	sha256  string
	path    string
	nulls   []bool
	widen   []colInfer
	err     error
	errLine int64
	// synced yields the result of the part file's fsync and close.
	synced chan error
}

// convertEnv is what every worker of one pass shares.
type convertEnv struct {
	r     io.ReaderAt
	delim byte
	quote byte // 0: no quoting
	names []string
	kinds []kind
	// colStyles says how each DATE / TIMESTAMP column is written (nil:
	// ISO); styles and infer are the plan's, for classifying the rest of
	// a span once a value broke its column.
	colStyles []*dateStyle
	styles    []*dateStyle
	infer     []colInfer
	rgRows    int
	// avgBytes is each column's mean value size in the sample (sizes the
	// string buffers); noDict marks near-unique columns written PLAIN,
	// where a dictionary costs time and saves nothing.
	avgBytes []float64
	noDict   []bool
	progress *Progress
	mem      memory.Allocator
	// maxRec is the longest record accepted (ingest.max_record_bytes).
	maxRec int
}

func writerProps(env *convertEnv) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(env.rgRows)),
		parquet.WithDictionaryDefault(true),
		// Never fall back from dictionary to PLAIN mid-chunk: arrow-go
		// lists the page encodings of such a chunk in map order, which
		// makes the file bytes (and so the content-addressed key) differ
		// from run to run. A dictionary cannot outgrow its row group's
		// values, and near-unique columns skip it (noDict) anyway.
		parquet.WithDictionaryPageSizeLimit(1 << 30),
		parquet.WithStats(true),
		parquet.WithCreatedBy("lakehouse"),
	}
	for i, n := range env.names {
		if i < len(env.noDict) && env.noDict[i] {
			opts = append(opts, parquet.WithDictionaryFor(n, false))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// expectedRows estimates how many rows a span of n bytes holds from the
// sample's mean row size, a little generously, at most one row group.
func (env *convertEnv) expectedRows(n int64) int {
	rowBytes := float64(len(env.kinds)) // delimiters and the newline
	for _, a := range env.avgBytes {
		rowBytes += a
	}
	est := float64(n)/max(rowBytes, 1)*1.25 + 16
	return int(min(est, float64(env.rgRows)))
}

// convertSpan parses job.span and writes it as a Parquet file, returning
// its size, rows and SHA-256.
func convertSpan(ctx context.Context, env *convertEnv, job partJob) (res partResult) {
	res.index, res.path = job.index, job.path
	ncols := len(env.kinds)
	res.nulls = make([]bool, ncols)
	f, err := os.Create(job.path)
	if err != nil {
		res.err = fmt.Errorf("ingest: create part: %w", err)
		return res
	}
	defer func() {
		if res.err != nil || res.widen != nil {
			_ = f.Close()
			_ = os.Remove(job.path)
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: f, h: h}
	bw := bufio.NewWriterSize(cw, 1<<20)
	schema := arrowSchema(env.names, env.kinds)
	fw, err := pqarrow.NewFileWriter(schema, bw, writerProps(env), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(env.mem)))
	if err != nil {
		res.err = fmt.Errorf("ingest: parquet writer: %w", err)
		return res
	}
	p := newParser(env.r, job.span.start, job.span.end, env.delim, job.span.line, min(4<<20, int(job.span.end-job.span.start)+16)).withQuote(env.quote).limit(env.maxRec)
	// Buffers start at the rows this span is expected to hold (from the
	// sample's row size), not at a full row group per column: a wide
	// file of one row must not reserve columns × row_group_rows. They
	// grow if the estimate was low.
	rows := env.expectedRows(job.span.end - job.span.start)
	var hints []int
	if env.avgBytes != nil {
		hints = make([]int, ncols)
		for i, a := range env.avgBytes {
			hints[i] = int(a*float64(rows)*1.1) + 64
		}
	}
	b := newBatch(env.mem, schema, env.kinds, env.colStyles, env.rgRows, rows, hints)
	defer b.release()
	flush := func() error {
		if b.rows == 0 {
			return nil
		}
		rec := b.record()
		err := fw.Write(rec)
		rec.Release()
		b.reuse()
		return err
	}
	var lastConsumed int64
	for {
		fs, line, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.err, res.errLine = withColumnName(err, env.names), line
			return res
		}
		if len(fs) != ncols {
			res.err, res.errLine = raggedError(line, len(fs), env.names), line
			return res
		}
		if bad := b.appendRow(p, fs); bad >= 0 {
			res.widen = scanRest(p, fs, env.infer, env.styles, env.names, &res)
			return res
		}
		res.rows++
		if b.isFull() {
			if err := ctx.Err(); err != nil {
				res.err = err
				return res
			}
			if err := flush(); err != nil {
				res.err = fmt.Errorf("ingest: write row group: %w", err)
				return res
			}
			if env.progress != nil {
				env.progress.add(p.consumed-lastConsumed, int64(env.rgRows))
				lastConsumed = p.consumed
			}
		}
	}
	if err := flush(); err != nil {
		res.err = fmt.Errorf("ingest: write row group: %w", err)
		return res
	}
	if env.progress != nil {
		env.progress.add(p.consumed-lastConsumed, res.rows%int64(env.rgRows))
	}
	for i := range res.nulls {
		res.nulls[i] = b.anyNull(i)
	}
	if err := fw.Close(); err != nil {
		res.err = fmt.Errorf("ingest: close parquet: %w", err)
		return res
	}
	if err := bw.Flush(); err != nil {
		res.err = fmt.Errorf("ingest: write part: %w", err)
		return res
	}
	// The part must be on disk before it is published (a crash after
	// registration must never find a torn file), but the worker need not
	// wait: the fsync runs beside the next span's conversion and publish
	// waits for it.
	res.synced = make(chan error, 1)
	go func() {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("ingest: fsync part: %w", err)
		}
		res.synced <- err
	}()
	res.bytes = cw.n
	res.sha256 = hex.EncodeToString(h.Sum(nil))
	return res
}

// scanRest continues through the span after a value broke its column's
// kind, only classifying, and returns what every remaining value says
// about each column, starting from the pass's states (parse errors found
// on the way are reported as usual).
func scanRest(p *parser, fs []field, infer []colInfer, styles []*dateStyle, names []string, res *partResult) []colInfer {
	widen := slices.Clone(infer)
	check := func(fs []field) {
		for i, f := range fs {
			if f.end == f.start {
				continue
			}
			widen[i].observe(p.value(f), styles)
		}
	}
	check(fs)
	for {
		fs, line, err := p.next()
		if err == io.EOF {
			return widen
		}
		if err != nil {
			res.err, res.errLine = withColumnName(err, names), line
			return widen
		}
		if len(fs) != len(infer) {
			res.err, res.errLine = raggedError(line, len(fs), names), line
			return widen
		}
		check(fs)
	}
}

func raggedError(line int64, got int, names []string) error {
	col := min(got, len(names)) + 1
	if got > len(names) {
		col = len(names) + 1
	}
	return &CSVError{Line: line, Column: col, Msg: fmt.Sprintf("the record has %d fields but the header has %d", got, len(names))}
}

func withColumnName(err error, names []string) error {
	if ce, ok := err.(*CSVError); ok && ce.ColumnName == "" && ce.Column >= 1 && ce.Column <= len(names) {
		ce.ColumnName = names[ce.Column-1]
	}
	return err
}

type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Progress counts input bytes and rows converted; safe for concurrent use.
type Progress struct {
	bytes atomic.Int64
	rows  atomic.Int64
	// Total is the input size in bytes (0 until known).
	Total atomic.Int64
}

func (p *Progress) add(b, r int64) {
	p.bytes.Add(b)
	p.rows.Add(r)
}

// Done returns the bytes and rows converted so far.
func (p *Progress) Done() (bytes, rows int64) { return p.bytes.Load(), p.rows.Load() }
