package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"

	"lakehouse/modules/catalog"
)

// Input formats an ingest reads.
const (
	FormatCSV     = "csv"
	FormatTSV     = "tsv"
	FormatJSON    = "json" // NDJSON, a JSON array of objects, or objects one after another
	FormatParquet = "parquet"
	FormatXLSX    = "xlsx"
)

// acceptedFormats is what a 400 for an unknown format= lists.
const acceptedFormats = "csv, tsv, json (alias ndjson, jsonl), parquet, xlsx (alias excel)"

// parseFormat canonicalises a format= value; "" means detect.
func parseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "csv", "text/csv":
		return FormatCSV, nil
	case "tsv", "tab", "tab-separated-values":
		return FormatTSV, nil
	case "json", "ndjson", "jsonl", "jsonlines", "json-lines":
		return FormatJSON, nil
	case "parquet", "pq":
		return FormatParquet, nil
	case "xlsx", "excel", "xlsm":
		return FormatXLSX, nil
	case "xls":
		return "", fmt.Errorf("the legacy Excel format .xls is not read; save the workbook as .xlsx")
	}
	return "", fmt.Errorf("unknown format %q; accepted: %s", s, acceptedFormats)
}

// formatByMediaType maps a Content-Type to a format. Generic types
// (text/csv, text/plain, application/octet-stream) decide nothing: many
// clients send one of them for any file, so the name and the bytes decide.
func formatByMediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	switch mt {
	case "text/tab-separated-values":
		return FormatTSV
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl",
		"application/x-jsonlines", "application/jsonlines", "application/json-seq", "text/json":
		return FormatJSON
	case "application/vnd.apache.parquet", "application/x-parquet", "application/parquet":
		return FormatParquet
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel.sheet.macroenabled.12":
		return FormatXLSX
	}
	return ""
}

// formatByName maps a file name's extension to a format ("" = none says).
func formatByName(name string) string {
	switch strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/"))) {
	case ".csv":
		return FormatCSV
	case ".tsv", ".tab":
		return FormatTSV
	case ".json", ".ndjson", ".jsonl":
		return FormatJSON
	case ".parquet", ".pq":
		return FormatParquet
	case ".xlsx", ".xlsm":
		return FormatXLSX
	}
	return ""
}

var (
	magicParquet = []byte("PAR1")
	magicZip     = []byte("PK\x03\x04")
	magicOLE     = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// formatByMagic looks at the first bytes: PAR1 is Parquet, a zip is an
// xlsx, a first non-blank character { or [ is JSON; anything else CSV.
func formatByMagic(r io.ReaderAt, size int64) string {
	head := make([]byte, min(size, 512))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, magicParquet):
		return FormatParquet
	case bytes.HasPrefix(head, magicZip):
		return FormatXLSX
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return FormatJSON
	}
	return FormatCSV
}

// formatChoice is the format an ingest reads and what decided it.
type formatChoice struct {
	name string
	by   string // "format=", "content-type", "file name", "content" (magic bytes)
}

// chooseFormat decides the input's format: format= > Content-Type > the
// file name's extension > the first bytes. A legacy .xls (an OLE
// compound file) is refused whatever decided.
func chooseFormat(r io.ReaderAt, size int64, req Request) (formatChoice, error) {
	head := make([]byte, min(size, 8))
	n, _ := r.ReadAt(head, 0)
	if bytes.Equal(head[:n], magicOLE) {
		return formatChoice{}, &InputError{Format: "xlsx", Msg: "the file is an OLE compound document (a legacy .xls workbook, or an encrypted .xlsx); save it as an unencrypted .xlsx"}
	}
	f, err := parseFormat(req.Format)
	if err != nil {
		return formatChoice{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if f != "" {
		return formatChoice{f, "format="}, nil
	}
	if f = formatByMediaType(req.ContentType); f != "" {
		return formatChoice{f, "content-type"}, nil
	}
	if strings.HasSuffix(strings.ToLower(req.FileName), ".xls") {
		return formatChoice{}, &InputError{Format: "xlsx", Msg: "the legacy Excel format .xls is not read; save the workbook as .xlsx"}
	}
	if f = formatByName(req.FileName); f != "" {
		return formatChoice{f, "file name"}, nil
	}
	return formatChoice{formatByMagic(r, size), "content"}, nil
}

// InputError is a problem in a JSON, Parquet or xlsx input (400 unless
// Status says otherwise): Line and Record (1-based) place it in a JSON
// input, Cell (A1 style) and Sheet in a workbook.
type InputError struct {
	Format string // json, parquet, xlsx
	Line   int64
	Record int64
	Sheet  string
	Cell   string
	Column string
	Msg    string
	// Status overrides 400 (413: a workbook that inflates past the limits).
	Status int
	Code   string
	// FirstRecord, for a key given twice, is the earlier record of the
	// pair (Record is the later); FirstLine its line once known.
	FirstRecord, FirstLine int64
}

// Error implements error.
func (e *InputError) Error() string {
	var where []string
	if e.Record > 0 {
		where = append(where, fmt.Sprintf("record %d", e.Record))
	}
	if e.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	if e.Cell != "" {
		if e.Sheet != "" {
			where = append(where, fmt.Sprintf("sheet %q, cell %s", e.Sheet, e.Cell))
		} else {
			where = append(where, "cell "+e.Cell)
		}
	}
	if e.Column != "" {
		where = append(where, fmt.Sprintf("column %q", e.Column))
	}
	if len(where) == 0 {
		return e.Msg
	}
	return strings.Join(where, ", ") + ": " + e.Msg
}

// HTTPStatus implements kit.StatusError.
func (e *InputError) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return http.StatusBadRequest
}

// ErrorCode implements kit.StatusError: bad_json, bad_parquet, bad_xlsx.
func (e *InputError) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	return "bad_" + e.Format
}

// ErrorDetails implements kit.ErrorDetailer: where in the input.
func (e *InputError) ErrorDetails() map[string]any {
	d := map[string]any{}
	if e.Format != "" {
		d["format"] = e.Format
	}
	if e.Line > 0 {
		d["line"] = e.Line
	}
	if e.Record > 0 {
		d["record"] = e.Record
	}
	if e.FirstRecord > 0 {
		d["first_record"] = e.FirstRecord
	}
	if e.FirstLine > 0 {
		d["first_line"] = e.FirstLine
	}
	if e.Sheet != "" {
		d["sheet"] = e.Sheet
	}
	if e.Cell != "" {
		d["cell"] = e.Cell
	}
	if e.Column != "" {
		d["column_name"] = e.Column
	}
	return d
}

// formatOptions checks the format settings of a request (400 when one is
// bad), before the upload is read.
func (req *Request) formatOptions() error {
	f, err := parseFormat(req.Format)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if f == FormatTSV && req.Delimiter != 0 && req.Delimiter != '\t' {
		return fmt.Errorf("%w: format=tsv reads tab-separated values; delimiter=%q contradicts it", ErrInvalid, req.Delimiter)
	}
	if req.HeaderRow < 0 || req.HeaderRow > xlsxMaxRows {
		return fmt.Errorf("%w: header_row must be a row number from 1 to %d", ErrInvalid, xlsxMaxRows)
	}
	if len(req.Sheet) > 255 {
		return fmt.Errorf("%w: sheet= is %d bytes; a sheet name has at most 31 characters", ErrInvalid, len(req.Sheet))
	}
	return nil
}

// ingestAny reads the input at path in its format: CSV and TSV through
// the CSV converter, an xlsx sheet written as CSV first, JSON and Parquet
// rewritten into parts by DuckDB. Every format then meets the same drift
// check, content-addressed publish and registration.
func (in *Ingester) ingestAny(ctx context.Context, path string, req Request, prev *catalog.Manifest) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: open input: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("ingest: stat input: %w", err)
	}
	fc, err := chooseFormat(f, st.Size(), req)
	if err != nil {
		in.met.done(Result{}, err)
		return Result{}, err
	}
	var res Result
	switch fc.name {
	case FormatXLSX:
		res, err = in.ingestXLSX(ctx, f, st.Size(), req, prev)
	case FormatJSON, FormatParquet:
		res, err = in.ingestDuck(ctx, f, st.Size(), fc.name, req, prev)
	default:
		if fc.name == FormatTSV && req.Delimiter == 0 {
			req.Delimiter = '\t'
		}
		f.Close()
		res, err = in.ingestFile(ctx, path, req, prev)
	}
	res.Stats.Format, res.Stats.FormatBy = fc.name, fc.by
	return res, err
}
