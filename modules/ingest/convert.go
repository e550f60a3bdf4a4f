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

// column builds one column of a batch with the builder of its kind.
type column struct {
	k    kind
	i64  *array.Int64Builder
	f64  *array.Float64Builder
	bl   *array.BooleanBuilder
	d32  *array.Date32Builder
	ts   *array.TimestampBuilder
	str  *array.BinaryBuilder // the StringBuilder's embedded BinaryBuilder
	sb   *array.StringBuilder
	null bool // a null was appended
	// dataHint is the string bytes of the last batch: reserving it up
	// front avoids growing (copying and zeroing) the buffer while appending.
	dataHint int
}

// batch accumulates rows into Arrow builders, one row group's worth.
type batch struct {
	schema *arrow.Schema
	cols   []column
	rows   int
}

func newBatch(mem memory.Allocator, schema *arrow.Schema, kinds []kind, capRows int, dataHints []int) *batch {
	b := &batch{schema: schema, cols: make([]column, len(kinds))}
	for i, k := range kinds {
		c := &b.cols[i]
		c.k = k
		switch k {
		case kBool:
			c.bl = array.NewBooleanBuilder(mem)
			c.bl.Reserve(capRows)
		case kInt:
			c.i64 = array.NewInt64Builder(mem)
			c.i64.Reserve(capRows)
		case kFloat:
			c.f64 = array.NewFloat64Builder(mem)
			c.f64.Reserve(capRows)
		case kDate:
			c.d32 = array.NewDate32Builder(mem)
			c.d32.Reserve(capRows)
		case kTimestamp:
			c.ts = array.NewTimestampBuilder(mem, k.arrowType().(*arrow.TimestampType))
			c.ts.Reserve(capRows)
		default:
			c.sb = array.NewStringBuilder(mem)
			c.sb.Reserve(capRows)
			c.str = c.sb.BinaryBuilder
			if dataHints != nil && dataHints[i] > 0 {
				c.dataHint = dataHints[i]
				c.sb.ReserveData(c.dataHint)
			}
		}
	}
	return b
}

// appendRow appends one record. It returns the index of the first column
// whose value does not fit its kind (the row is then half appended and
// the batch must be discarded), or -1.
func (b *batch) appendRow(p *parser, fs []field) int {
	for i := range b.cols {
		c := &b.cols[i]
		f := fs[i]
		if f.end == f.start {
			if f.quoted && (c.k == kString) {
				c.str.Append(nil)
				continue
			}
			c.null = true
			switch c.k {
			case kBool:
				c.bl.AppendNull()
			case kInt:
				c.i64.AppendNull()
			case kFloat:
				c.f64.AppendNull()
			case kDate:
				c.d32.AppendNull()
			case kTimestamp:
				c.ts.AppendNull()
			default:
				c.str.AppendNull()
			}
			continue
		}
		v := p.value(f)
		switch c.k {
		case kString:
			c.str.Append(v)
		case kInt:
			x, ok := parseInt(v)
			if !ok {
				return i
			}
			c.i64.Append(x)
		case kFloat:
			x, ok := parseFloat(v)
			if !ok {
				return i
			}
			c.f64.Append(x)
		case kBool:
			x, ok := parseBool(v)
			if !ok {
				return i
			}
			c.bl.Append(x)
		case kDate:
			x, ok := parseDate(v)
			if !ok {
				return i
			}
			c.d32.Append(arrow.Date32(x))
		case kTimestamp:
			x, ok := parseTimestamp(v)
			if !ok {
				return i
			}
			c.ts.Append(arrow.Timestamp(x))
		default: // kNull: only empty values fit until widened
			return i
		}
	}
	b.rows++
	return -1
}

// record hands the built columns over as a record batch and resets the
// builders for the next row group.
func (b *batch) record() arrow.RecordBatch {
	arrs := make([]arrow.Array, len(b.cols))
	for i := range b.cols {
		c := &b.cols[i]
		switch c.k {
		case kBool:
			arrs[i] = c.bl.NewArray()
		case kInt:
			arrs[i] = c.i64.NewArray()
		case kFloat:
			arrs[i] = c.f64.NewArray()
		case kDate:
			arrs[i] = c.d32.NewArray()
		case kTimestamp:
			arrs[i] = c.ts.NewArray()
		default:
			c.dataHint = c.str.DataLen() + c.str.DataLen()/8
			arrs[i] = c.sb.NewArray()
		}
	}
	rec := array.NewRecordBatch(b.schema, arrs, int64(b.rows))
	for _, a := range arrs {
		a.Release()
	}
	b.reserve(b.rows)
	b.rows = 0
	return rec
}

// reserve sizes every builder for the next batch of rows.
func (b *batch) reserve(rows int) {
	for i := range b.cols {
		c := &b.cols[i]
		switch c.k {
		case kBool:
			c.bl.Reserve(rows)
		case kInt:
			c.i64.Reserve(rows)
		case kFloat:
			c.f64.Reserve(rows)
		case kDate:
			c.d32.Reserve(rows)
		case kTimestamp:
			c.ts.Reserve(rows)
		default:
			c.sb.Reserve(rows)
			if c.dataHint > 0 {
				c.sb.ReserveData(c.dataHint)
			}
		}
	}
}

func (b *batch) release() {
	for i := range b.cols {
		c := &b.cols[i]
		switch c.k {
		case kBool:
			c.bl.Release()
		case kInt:
			c.i64.Release()
		case kFloat:
			c.f64.Release()
		case kDate:
			c.d32.Release()
		case kTimestamp:
			c.ts.Release()
		default:
			c.sb.Release()
		}
	}
}

// bytesString views b as a string without copying (b must not change
// while the string is used).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
