package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Limits of a Parquet input's footer.
const (
	// maxParquetFooter caps the footer (the file's metadata) in bytes.
	maxParquetFooter = 64 << 20
	// maxParquetRows caps the rows one Parquet input may claim: ten
	// billion, far past what an 8 GiB upload holds in practice.
	maxParquetRows = 10_000_000_000
)

// parquetInfo is what the footer says.
type parquetInfo struct {
	rows      int64
	rowGroups int
	columns   int // top-level
}

// checkParquet reads and checks a Parquet input's footer before DuckDB
// touches the data: the magic bytes at both ends, a footer that fits in
// the file and in maxParquetFooter, a row count within maxParquetRows
// that equals the sum of the row groups', and column chunks that lie
// inside the file and hold at least one value per row. A footer that
// lies about sizes is refused here with a 400 instead of driving a
// reader into huge allocations.
func checkParquet(r io.ReaderAt, size int64, maxCols int) (info parquetInfo, err error) {
	bad := func(format string, args ...any) error {
		return &InputError{Format: FormatParquet, Msg: fmt.Sprintf(format, args...)}
	}
	if size < 12 {
		return info, bad("not a Parquet file: %d bytes is too short (a Parquet file starts and ends with PAR1)", size)
	}
	head := make([]byte, 4)
	tail := make([]byte, 8)
	if _, err := r.ReadAt(head, 0); err != nil {
		return info, fmt.Errorf("ingest: read input: %w", err)
	}
	if _, err := r.ReadAt(tail, size-8); err != nil {
		return info, fmt.Errorf("ingest: read input: %w", err)
	}
	if !bytes.Equal(head, magicParquet) {
		return info, bad("not a Parquet file: it does not start with PAR1")
	}
	if bytes.Equal(tail[4:], []byte("PARE")) {
		return info, bad("the Parquet file is encrypted (footer PARE); encrypted Parquet is not read")
	}
	if !bytes.Equal(tail[4:], magicParquet) {
		return info, bad("not a complete Parquet file: it does not end with PAR1 (truncated?)")
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen == 0 || flen > size-12 {
		return info, bad("corrupt Parquet footer: it claims %d bytes in a file of %d", flen, size)
	}
	if flen > maxParquetFooter {
		return info, bad("the Parquet footer is %d bytes; at most %d are read", flen, maxParquetFooter)
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, size-8-flen); err != nil {
		return info, fmt.Errorf("ingest: read input: %w", err)
	}
	// A hostile footer can make the thrift structures inconsistent in
	// ways the metadata accessors do not check: any panic is a bad file.
	defer func() {
		if p := recover(); p != nil {
			info, err = parquetInfo{}, bad("corrupt Parquet footer (%v)", p)
		}
	}()
	md, err := metadata.NewFileMetaData(footer, nil)
	if err != nil {
		return info, bad("corrupt Parquet footer: %v", err)
	}
	info.rows, info.rowGroups = md.NumRows, md.NumRowGroups()
	if md.Schema == nil || md.Schema.Root() == nil {
		return info, bad("corrupt Parquet footer: no schema")
	}
	info.columns = md.Schema.Root().NumFields()
	switch {
	case info.rows < 0:
		return info, bad("corrupt Parquet footer: it claims %d rows", info.rows)
	case info.rows > maxParquetRows:
		return info, bad("the Parquet footer claims %d rows; at most %d are read from one file", info.rows, int64(maxParquetRows))
	case info.columns == 0:
		return info, bad("the Parquet file has no columns")
	case info.columns > maxCols:
		return info, bad("the Parquet file has %d columns; at most %d are allowed (ingest.max_columns)", info.columns, maxCols)
	}
	dataEnd := size - 8 - flen
	leaves := md.Schema.NumColumns()
	var sum int64
	for i := 0; i < info.rowGroups; i++ {
		rg := md.RowGroup(i)
		n := rg.NumRows()
		if n < 0 || n > info.rows-sum {
			return info, bad("corrupt Parquet footer: row group %d claims %d rows, more than the file's %d", i, n, info.rows)
		}
		sum += n
		if rg.NumColumns() != leaves {
			return info, bad("corrupt Parquet footer: row group %d has %d column chunks for %d columns", i, rg.NumColumns(), leaves)
		}
		for j := 0; j < leaves; j++ {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				return info, bad("corrupt Parquet footer: row group %d, column %d: %v", i, j, err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
				start = cc.DictionaryPageOffset()
			}
			if l := cc.TotalCompressedSize(); start < 4 || l < 0 || start+l > dataEnd {
				return info, bad("corrupt Parquet footer: row group %d, column %s lies outside the file (bytes %d to %d of %d)", i, cc.PathInSchema(), start, start+l, dataEnd)
			}
			// Every row puts at least one value (or null) in every leaf.
			if cc.NumValues() < n {
				return info, bad("corrupt Parquet footer: row group %d claims %d rows but column %s holds %d values", i, n, cc.PathInSchema(), cc.NumValues())
			}
		}
	}
	if sum != info.rows {
		return info, bad("corrupt Parquet footer: it claims %d rows but its row groups hold %d", info.rows, sum)
	}
	return info, nil
}
