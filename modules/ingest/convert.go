package ingest

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrowType is the Arrow type a kind is written as. Timestamps are
// microseconds without a zone (UTC wall time), so DuckDB reads TIMESTAMP.
func (k kind) arrowType() arrow.DataType {
	switch k {
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kInt:
		return arrow.PrimitiveTypes.Int64
	case kFloat:
		return arrow.PrimitiveTypes.Float64
	case kDate:
		return arrow.FixedWidthTypes.Date32
	case kTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	default:
		return arrow.BinaryTypes.String
	}
}

func arrowSchema(names []string, kinds []kind) *arrow.Schema {
	fs := make([]arrow.Field, len(names))
	for i, n := range names {
		fs[i] = arrow.Field{Name: n, Type: kinds[i].arrowType(), Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

// column holds one column of a batch in plain Go slices that are reused
// batch after batch: appending never zeroes or copies a growing Arrow
// buffer, and the steady state allocates nothing. The slices are handed
// to Arrow without copying when the batch becomes a record.
type column struct {
	k     kind
	valid []byte // validity bitmap, LSB first
	nulls int
	i64   []int64 // BIGINT, TIMESTAMP
	f64   []float64
	i32   []int32    // DATE
	bits  []byte     // BOOLEAN values bitmap
	offs  []int32    // VARCHAR offsets (rows+1)
	data  []byte     // VARCHAR bytes
	null  bool       // a null was appended in this span
	st    *dateStyle // how DATE / TIMESTAMP values are written (nil: ISO)
}

// colSet is one batch's worth of columns.
type colSet []column

// batch accumulates rows into columns, one row group's worth. The
// Parquet writer copies what it keeps (encoded pages, dictionaries,
// min/max statistics) during Write, so the same slices are refilled for
// the next row group (TestRowGroupsReuseBuffers proves it).
type batch struct {
	schema *arrow.Schema
	sets   [1]colSet
	cur    int
	rows   int
	cap    int
	full   bool // a string buffer reached its limit before cap rows
	// bitRows is how many rows the bitmaps hold now; they grow (with the
	// value slices, which grow by append) up to cap.
	bitRows int
}

// maxColumnBytes caps one column's string bytes in a batch (int32 offsets).
const maxColumnBytes = 1 << 30

// newBatch returns a batch of up to capRows rows whose buffers start
// sized for initRows (grown as rows arrive, then reused batch after
// batch). styles, when set, says per column how its dates and timestamps
// are written (nil: ISO).
func newBatch(_ memory.Allocator, schema *arrow.Schema, kinds []kind, styles []*dateStyle, capRows, initRows int, dataHints []int) *batch {
	initRows = max(1, min(initRows, capRows))
	b := &batch{schema: schema, cap: capRows, bitRows: initRows}
	for s := range b.sets {
		cs := make(colSet, len(kinds))
		for i, k := range kinds {
			c := &cs[i]
			c.k = k
			if styles != nil {
				c.st = styles[i]
			}
			c.valid = make([]byte, (initRows+7)/8+1)
			switch k {
			case kBool:
				c.bits = make([]byte, (initRows+7)/8+1)
			case kInt, kTimestamp:
				c.i64 = make([]int64, 0, initRows)
			case kFloat:
				c.f64 = make([]float64, 0, initRows)
			case kDate:
				c.i32 = make([]int32, 0, initRows)
			default:
				c.offs = make([]int32, 1, initRows+1)
				hint := 0
				if dataHints != nil {
					hint = min(dataHints[i], maxColumnBytes)
				}
				c.data = make([]byte, 0, hint)
			}
		}
		b.sets[s] = cs
	}
	return b
}

// cols is the column set being filled.
func (b *batch) cols() colSet { return b.sets[b.cur] }

// appendRow appends one record. It returns the index of the first column
// whose value does not fit its kind (the row is then half appended and
// the batch must be discarded), or -1.
func (b *batch) appendRow(p *parser, fs []field) int {
	cs := b.sets[b.cur]
	r := b.rows
	if r >= b.bitRows {
		b.growBitmaps(cs, min(max(2*b.bitRows, r+1), b.cap))
	}
	for i := range cs {
		c := &cs[i]
		f := fs[i]
		if f.end == f.start && !(f.quoted && c.k == kString) {
			c.null = true
			c.nulls++
			switch c.k {
			case kInt, kTimestamp:
				c.i64 = append(c.i64, 0)
			case kFloat:
				c.f64 = append(c.f64, 0)
			case kDate:
				c.i32 = append(c.i32, 0)
			case kBool:
			default:
				c.offs = append(c.offs, int32(len(c.data)))
			}
			continue
		}
		c.valid[r>>3] |= 1 << (r & 7)
		v := p.value(f)
		switch c.k {
		case kString:
			c.data = append(c.data, v...)
			c.offs = append(c.offs, int32(len(c.data)))
			if len(c.data) > maxColumnBytes {
				b.full = true
			}
		case kInt:
			x, ok := parseInt(v)
			if !ok {
				return i
			}
			c.i64 = append(c.i64, x)
		case kFloat:
			x, ok := parseFloat(v)
			if !ok {
				return i
			}
			c.f64 = append(c.f64, x)
		case kBool:
			x, ok := parseBool(v)
			if !ok {
				return i
			}
			if x {
				c.bits[r>>3] |= 1 << (r & 7)
			}
		case kDate:
			x, ok := c.st.parseDate(v)
			if !ok {
				return i
			}
			c.i32 = append(c.i32, x)
		case kTimestamp:
			x, ok := c.st.parseTimestamp(v)
			if !ok {
				return i
			}
			c.i64 = append(c.i64, x)
		default: // kNull: only empty values fit until widened
			return i
		}
	}
	b.rows++
	return -1
}

// growBitmaps enlarges every column's validity (and boolean) bitmap to
// hold rows rows, keeping the bits set so far.
func (b *batch) growBitmaps(cs colSet, rows int) {
	n := (rows+7)/8 + 1
	for i := range cs {
		c := &cs[i]
		c.valid = append(c.valid, make([]byte, n-len(c.valid))...)
		if c.k == kBool {
			c.bits = append(c.bits, make([]byte, n-len(c.bits))...)
		}
	}
	b.bitRows = rows
}

// isFull reports whether the batch should become a row group now.
func (b *batch) isFull() bool { return b.rows >= b.cap || b.full }

// anyNull reports whether column i got a null in any batch so far.
func (b *batch) anyNull(i int) bool { return b.sets[0][i].null }

// record hands the current columns to Arrow (no copy). The caller writes
// the record, then calls reuse before appending again.
func (b *batch) record() arrow.RecordBatch {
	cs := b.sets[b.cur]
	n := b.rows
	arrs := make([]arrow.Array, len(cs))
	for i := range cs {
		c := &cs[i]
		var valid *memory.Buffer
		if c.nulls > 0 {
			valid = memory.NewBufferBytes(c.valid[:(n+7)/8])
		}
		var bufs []*memory.Buffer
		switch c.k {
		case kBool:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(c.bits[:(n+7)/8])}
		case kInt, kTimestamp:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(c.i64))}
		case kFloat:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(c.f64))}
		case kDate:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.i32))}
		default:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offs)), memory.NewBufferBytes(c.data)}
		}
		d := array.NewData(b.schema.Field(i).Type, n, bufs, nil, c.nulls, 0)
		arrs[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(b.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// reuse empties the columns once their record has been written.
func (b *batch) reuse() {
	b.reset(b.sets[b.cur])
	b.rows, b.full = 0, false
}

func (b *batch) reset(cs colSet) {
	for i := range cs {
		c := &cs[i]
		clear(c.valid)
		c.nulls = 0
		switch c.k {
		case kBool:
			clear(c.bits)
		case kInt, kTimestamp:
			c.i64 = c.i64[:0]
		case kFloat:
			c.f64 = c.f64[:0]
		case kDate:
			c.i32 = c.i32[:0]
		default:
			c.offs = c.offs[:1]
			c.data = c.data[:0]
		}
	}
}

// discard drops the rows appended so far (a value broke its kind).
func (b *batch) discard() {
	b.reset(b.sets[b.cur])
	b.rows, b.full = 0, false
}

func (b *batch) release() {}

// bytesString views b as a string without copying (b must not change
// while the string is used).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
