package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"lakehouse/modules/catalog"
)

// An xlsx is read in two steps: its chosen worksheet is streamed (one row
// in memory) into a CSV file in the work dir, which the CSV pipeline then
// converts like any upload, so type inference, widening, drift, parts,
// idempotency and progress are the same. excelize reads the workbook's
// structure (sheets, styles, the 1900/1904 date system) and turns date
// serials into times; the cells themselves are read by a streaming XML
// reader here, because excelize's row iterator returns formatted strings
// without the cell's type and style, and those decide that a text cell
// "007" stays text and that a number formatted as a date is a DATE.

// Limits of an xlsx (Excel's own sheet size, and the zip guards).
const (
	xlsxMaxRows = 1 << 20 // Excel: 1,048,576 rows
	xlsxMaxCols = 1 << 14 // Excel: 16,384 columns (XFD)
	// xlsxMaxInflated caps the sum of the workbook's declared
	// uncompressed part sizes; xlsxMaxSheet one worksheet or the shared
	// strings (both streamed); xlsxMaxPart a part read whole (workbook,
	// relationships, styles).
	xlsxMaxInflated = 16 << 30
	xlsxMaxSheet    = 8 << 30
	xlsxMaxPart     = 64 << 20
	// A part that inflates more than xlsxBombRatio times and past
	// xlsxBombMin bytes is a zip bomb: spreadsheet XML deflates 5-30×.
	xlsxBombRatio = 200
	xlsxBombMin   = 32 << 20
	// sstMemory is how many bytes of shared strings are kept in memory
	// before the rest go to a file in the work dir.
	sstMemory = 64 << 20
	// headerScanRows is how many non-empty rows header detection looks at.
	headerScanRows = 20
)

// errTooLargeXLSX builds the 413 of a workbook that inflates past a limit.
func errTooLargeXLSX(format string, args ...any) error {
	return &InputError{Format: FormatXLSX, Status: http.StatusRequestEntityTooLarge, Code: "too_large", Msg: fmt.Sprintf(format, args...)}
}

func badXLSX(format string, args ...any) *InputError {
	return &InputError{Format: FormatXLSX, Msg: fmt.Sprintf(format, args...)}
}

// xlsxBook is the workbook's structure.
type xlsxBook struct {
	zr       *zip.Reader
	files    map[string]*zip.File // lower-cased name → entry
	sheets   []xlsxSheetRef
	date1904 bool
	// numFmt is each cell style's (cellXfs index) number format class.
	numFmt []fmtClass
}

type xlsxSheetRef struct {
	name, path string
	worksheet  bool
}

// fmtClass is what a number format shows a number as.
type fmtClass uint8

const (
	fmtNumber   fmtClass = iota
	fmtDate              // a date: DATE
	fmtDateTime          // a date and a time: TIMESTAMP
	fmtTime              // a time of day or a duration: text hh:mm:ss
)

// openXLSX checks the zip (a bomb is refused before anything inflates)
// and reads the workbook structure through excelize.
func openXLSX(f *os.File, size int64) (*xlsxBook, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, badXLSX("not a readable xlsx file (the zip archive is damaged: %v)", cleanZipErr(err))
	}
	b := &xlsxBook{zr: zr, files: map[string]*zip.File{}}
	var total uint64
	for _, e := range zr.File {
		n := e.UncompressedSize64
		total += n
		if n > xlsxBombMin && e.CompressedSize64 > 0 && n/e.CompressedSize64 > xlsxBombRatio {
			return nil, errTooLargeXLSX("zip bomb refused: part %s inflates %d bytes into %d (%d×; at most %d× past %d MiB is read)",
				e.Name, e.CompressedSize64, n, n/e.CompressedSize64, xlsxBombRatio, xlsxBombMin>>20)
		}
		if n > xlsxMaxSheet {
			return nil, errTooLargeXLSX("part %s inflates to %d bytes; at most %d are read", e.Name, n, int64(xlsxMaxSheet))
		}
		if total > xlsxMaxInflated {
			return nil, errTooLargeXLSX("the workbook inflates to more than %d bytes", int64(xlsxMaxInflated))
		}
		b.files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(e.Name, `\`, "/"), "/"))] = e
	}
	// excelize reads the package's structure from its small parts only
	// (copied raw into an in-memory zip): the worksheets and shared
	// strings, which may be large, are streamed below instead.
	wbPath := "xl/workbook.xml"
	if rels, err := b.readPart("_rels/.rels"); err == nil {
		for _, r := range parseRels(rels) {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wbPath = strings.TrimPrefix(path.Clean("/"+r.Target), "/")
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	relsPath := path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels")
	var mini bytes.Buffer
	zw := zip.NewWriter(&mini)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", wbPath, relsPath, path.Join(path.Dir(wbPath), "styles.xml")} {
		e := b.files[strings.ToLower(name)]
		if e == nil {
			continue
		}
		if e.UncompressedSize64 > xlsxMaxPart {
			return nil, errTooLargeXLSX("part %s inflates to %d bytes; at most %d are read", e.Name, e.UncompressedSize64, xlsxMaxPart)
		}
		if err := copyRaw(zw, e); err != nil {
			return nil, badXLSX("not a readable xlsx file (part %s: %v)", e.Name, cleanZipErr(err))
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ingest: xlsx: %w", err)
	}
	if b.files[strings.ToLower(wbPath)] == nil {
		return nil, badXLSX("not an xlsx workbook: the zip holds no %s", wbPath)
	}
	xf, err := excelize.OpenReader(&mini, excelize.Options{UnzipSizeLimit: 5 * xlsxMaxPart, UnzipXMLSizeLimit: xlsxMaxPart})
	if err != nil {
		return nil, badXLSX("not a readable xlsx workbook: %v", cleanZipErr(err))
	}
	defer xf.Close()
	if props, err := xf.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		b.date1904 = *props.Date1904
	}
	b.numFmt = styleClasses(xf)

	// Sheet order and names, and where each sheet's XML is.
	wbXML, err := b.readPart(wbPath)
	if err != nil {
		return nil, err
	}
	relXML, err := b.readPart(relsPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	targets := map[string]xlsxRel{}
	for _, r := range parseRels(relXML) {
		targets[r.ID] = r
	}
	var wb struct {
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(wbXML, &wb); err != nil {
		return nil, badXLSX("not a readable xlsx workbook (%s: %v)", wbPath, err)
	}
	listed := xf.GetSheetList()
	for i, s := range wb.Sheets {
		if i < len(listed) && listed[i] != s.Name {
			return nil, badXLSX("not a readable xlsx workbook (sheet %d is %q or %q)", i+1, s.Name, listed[i])
		}
		var id string
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && a.Name.Space != "" {
				id = a.Value
			}
		}
		r, ok := targets[id]
		ref := xlsxSheetRef{name: s.Name}
		if ok {
			t := r.Target
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(wbPath), t)
			}
			ref.path = strings.ToLower(strings.TrimPrefix(path.Clean("/"+t), "/"))
			ref.worksheet = strings.HasSuffix(r.Type, "/worksheet")
		}
		b.sheets = append(b.sheets, ref)
	}
	return b, nil
}

// copyRaw copies a zip entry into zw without inflating it.
func copyRaw(zw *zip.Writer, e *zip.File) error {
	fh := e.FileHeader
	w, err := zw.CreateRaw(&fh)
	if err != nil {
		return err
	}
	r, err := e.OpenRaw()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, io.LimitReader(r, int64(e.CompressedSize64)))
	return err
}

// cleanZipErr drops a path from an error message (a temp file name).
func cleanZipErr(err error) string {
	msg := err.Error()
	var pe *os.PathError
	if errors.As(err, &pe) {
		msg = pe.Op + ": " + pe.Err.Error()
	}
	return msg
}

// readPart inflates a small part whole (at most xlsxMaxPart bytes).
func (b *xlsxBook) readPart(name string) ([]byte, error) {
	e := b.files[strings.ToLower(name)]
	if e == nil {
		return nil, os.ErrNotExist
	}
	if e.UncompressedSize64 > xlsxMaxPart {
		return nil, errTooLargeXLSX("part %s inflates to %d bytes; at most %d are read", e.Name, e.UncompressedSize64, xlsxMaxPart)
	}
	r, err := e.Open()
	if err != nil {
		return nil, badXLSX("not a readable xlsx file (part %s: %v)", e.Name, cleanZipErr(err))
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, xlsxMaxPart+1))
	if err != nil {
		return nil, badXLSX("not a readable xlsx file (part %s: %v)", e.Name, cleanZipErr(err))
	}
	return data, nil
}

type xlsxRel struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
}

func parseRels(data []byte) []xlsxRel {
	var rels struct {
		Rels []xlsxRel `xml:"Relationship"`
	}
	_ = xml.Unmarshal(data, &rels)
	return rels.Rels
}

// styleClasses classifies every cell style's number format.
func styleClasses(xf *excelize.File) []fmtClass {
	st := xf.Styles
	if st == nil || st.CellXfs == nil {
		return nil
	}
	custom := map[int]string{}
	if st.NumFmts != nil {
		for _, nf := range st.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			custom[nf.NumFmtID] = code
		}
	}
	out := make([]fmtClass, len(st.CellXfs.Xf))
	for i, x := range st.CellXfs.Xf {
		if x.NumFmtID == nil {
			continue
		}
		id := *x.NumFmtID
		if code, ok := custom[id]; ok {
			out[i] = classifyFormatCode(code)
		} else {
			out[i] = builtinFormatClass(id)
		}
	}
	return out
}

// builtinFormatClass classifies Excel's built-in number formats: 14-17
// dates, 22 date and time, 18-21 and 45-47 times; 27-36 and 50-58 are
// the East Asian locales' dates and times.
func builtinFormatClass(id int) fmtClass {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id == 50, id == 51, id == 54, id == 57, id == 58:
		return fmtDate
	case id == 22:
		return fmtDateTime
	case id >= 18 && id <= 21, id >= 45 && id <= 47, id >= 32 && id <= 35, id == 52, id == 53, id == 55, id == 56:
		return fmtTime
	}
	return fmtNumber
}

// classifyFormatCode reads a custom number format's first section:
// quoted text, escaped characters and [...] (colours, locales) are
// skipped; y or d (or m without h and s) make it a date, h or s a time.
func classifyFormatCode(code string) fmtClass {
	if i := strings.IndexByte(code, ';'); i >= 0 {
		code = code[:i]
	}
	var date, tim, month, elapsed bool
	for i := 0; i < len(code); i++ {
		switch c := code[i] | 0x20; {
		case code[i] == '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case code[i] == '\\' || code[i] == '_' || code[i] == '*':
			i++
		case code[i] == '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				i = len(code)
				break
			}
			inner := strings.ToLower(code[i+1 : i+j])
			if inner != "" && strings.Trim(inner, "hms") == "" {
				elapsed = true // [h]:mm:ss, a duration
			}
			i += j
		case c == 'y' || c == 'd':
			date = true
		case c == 'h' || c == 's':
			tim = true
		case c == 'm':
			month = true
		}
	}
	switch {
	case elapsed:
		return fmtTime
	case (date || month && !tim) && tim:
		return fmtDateTime
	case date || month && !tim:
		return fmtDate
	case tim:
		return fmtTime
	}
	return fmtNumber
}

// pickSheet finds the sheet sheet= names (its name, any case, or a
// 1-based position); "" is the first worksheet.
func (b *xlsxBook) pickSheet(want string) (xlsxSheetRef, error) {
	names := make([]string, 0, len(b.sheets))
	for _, s := range b.sheets {
		names = append(names, strconv.Quote(s.name))
	}
	list := strings.Join(names, ", ")
	if len(names) > 20 {
		list = strings.Join(names[:20], ", ") + fmt.Sprintf(" and %d more", len(names)-20)
	}
	var ref *xlsxSheetRef
	if want == "" {
		for i := range b.sheets {
			if b.sheets[i].worksheet {
				ref = &b.sheets[i]
				break
			}
		}
		if ref == nil {
			return xlsxSheetRef{}, badXLSX("the workbook has no worksheet (sheets: %s)", list)
		}
	} else {
		for i := range b.sheets {
			if b.sheets[i].name == want {
				ref = &b.sheets[i]
				break
			}
		}
		for i := range b.sheets {
			if ref == nil && strings.EqualFold(b.sheets[i].name, want) {
				ref = &b.sheets[i]
			}
		}
		if n, err := strconv.Atoi(want); ref == nil && err == nil && n >= 1 && n <= len(b.sheets) {
			ref = &b.sheets[n-1]
		}
		if ref == nil {
			return xlsxSheetRef{}, &InputError{Format: FormatXLSX, Code: "bad_request", Msg: fmt.Sprintf("sheet=%q: the workbook has no such sheet (sheets: %s)", want, list)}
		}
		if !ref.worksheet {
			return xlsxSheetRef{}, &InputError{Format: FormatXLSX, Code: "bad_request", Msg: fmt.Sprintf("sheet %q is not a worksheet (a chart sheet?); sheets: %s", ref.name, list)}
		}
	}
	if b.files[ref.path] == nil {
		return xlsxSheetRef{}, badXLSX("sheet %q: its part %s is missing from the file", ref.name, ref.path)
	}
	return *ref, nil
}

// sharedStrings is the workbook's shared string table: the strings'
// bytes in memory, then (past sstMemory bytes) in a file in the work dir,
// and where each starts.
type sharedStrings struct {
	mem     []byte
	file    *os.File
	fileLen int64
	offs    []int64
}

func (s *sharedStrings) add(str string, dir string) error {
	if s.file == nil && len(s.mem)+len(str) > sstMemory {
		f, err := os.CreateTemp(dir, "sst-")
		if err != nil {
			return fmt.Errorf("ingest: xlsx shared strings: %w", err)
		}
		s.file = f
	}
	s.offs = append(s.offs, s.end())
	if s.file == nil {
		s.mem = append(s.mem, str...)
		return nil
	}
	n, err := s.file.WriteString(str)
	s.fileLen += int64(n)
	if err != nil {
		return fmt.Errorf("ingest: xlsx shared strings: %w", err)
	}
	return nil
}

func (s *sharedStrings) end() int64 { return int64(len(s.mem)) + s.fileLen }

func (s *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= len(s.offs) {
		return "", false
	}
	a, b := s.offs[i], s.end()
	if i+1 < len(s.offs) {
		b = s.offs[i+1]
	}
	base := int64(len(s.mem))
	if b <= base {
		return string(s.mem[a:b]), true
	}
	buf := make([]byte, b-a) // a string never straddles memory and file
	if _, err := s.file.ReadAt(buf, a-base); err != nil {
		return "", false
	}
	return string(buf), true
}

func (s *sharedStrings) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// readSharedStrings streams xl/sharedStrings.xml: each <si>'s text (its
// <t>, or the <t> of its rich-text runs; phonetic runs are skipped).
func (b *xlsxBook) readSharedStrings(dir string, maxItem int) (*sharedStrings, error) {
	s := &sharedStrings{}
	var e *zip.File
	for name, f := range b.files {
		if path.Base(name) == "sharedstrings.xml" {
			e = f
		}
	}
	if e == nil {
		return s, nil
	}
	r, err := e.Open()
	if err != nil {
		return nil, badXLSX("not a readable xlsx file (part %s: %v)", e.Name, cleanZipErr(err))
	}
	defer r.Close()
	d := xml.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	var cur strings.Builder
	inSI, inT, inRPh := false, false, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.close()
			return nil, badXLSX("the shared strings (%s) are not readable XML: %v", e.Name, cleanZipErr(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI = true
				cur.Reset()
			case "t":
				inT = inSI && inRPh == 0
			case "rPh":
				inRPh++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				inSI = false
				if err := s.add(unescapeXLSX(cur.String()), dir); err != nil {
					s.close()
					return nil, err
				}
			case "t":
				inT = false
			case "rPh":
				inRPh--
			}
		case xml.CharData:
			if inT {
				if cur.Len()+len(t) > maxItem {
					s.close()
					return nil, badXLSX("shared string %d is longer than %d bytes", len(s.offs)+1, maxItem)
				}
				cur.Write(t)
			}
		}
	}
	return s, nil
}

// unescapeXLSX decodes the _xHHHH_ escapes Excel writes for characters
// XML cannot hold (a carriage return is _x000D_).
func unescapeXLSX(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+6 < len(s) && s[i+1] == 'x' && s[i+6] == '_' {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 6
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// xcell is one cell's value as the CSV gets it.
type xcell struct {
	col  int // 1-based
	text string
	kind byte // 'n' number, 's' text, 'f' a formula's text result, 'b' boolean, 'd' date or time
}

// xlsxRow is one sheet row's non-empty cells in column order.
type xlsxRow struct {
	num   int
	cells []xcell
}

// colName is a column's letters (1 → A, 27 → AA).
func colName(c int) string {
	var b []byte
	for c > 0 {
		c--
		b = append([]byte{byte('A' + c%26)}, b...)
		c /= 26
	}
	return string(b)
}

// cellCol reads the column of an A1-style reference (0 if none).
func cellCol(ref string) int {
	c := 0
	for i := 0; i < len(ref); i++ {
		ch := ref[i] | 0x20
		if ch < 'a' || ch > 'z' {
			break
		}
		c = c*26 + int(ch-'a'+1)
		if c > xlsxMaxCols {
			return xlsxMaxCols + 1
		}
	}
	return c
}

// sheetReader streams a worksheet's rows.
type sheetReader struct {
	d       *xml.Decoder
	book    *xlsxBook
	sst     *sharedStrings
	sheet   string
	maxRow  int // bytes of cell text one row may hold
	lastRow int
	// counts for the notes
	errorCells, uncached int
	firstError           string
}

// next returns the next row with at least one value (io.EOF at the end).
func (sr *sheetReader) next() (xlsxRow, error) {
	var row xlsxRow
	inRow := false
	rowBytes := 0
	var (
		inCell, inV, inIS, inT bool
		inRPh                  int
		ref, typ               string
		style, col             int
		hasF                   bool
		val                    strings.Builder
	)
	for {
		tok, err := sr.d.RawToken()
		if err == io.EOF {
			if inRow && len(row.cells) > 0 {
				return row, nil
			}
			return row, io.EOF
		}
		if err != nil {
			return row, badXLSX("sheet %q is not readable XML (near row %d): %v", sr.sheet, sr.lastRow+1, cleanZipErr(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				inRow = true
				row = xlsxRow{num: sr.lastRow + 1}
				rowBytes = 0
				for _, a := range t.Attr {
					if a.Name.Local == "r" {
						n, err := strconv.Atoi(a.Value)
						if err != nil || n < 1 || n <= sr.lastRow {
							return row, badXLSX("sheet %q: row number %q after row %d", sr.sheet, a.Value, sr.lastRow)
						}
						row.num = n
					}
				}
				if row.num > xlsxMaxRows {
					return row, badXLSX("sheet %q: row %d is past Excel's last row (%d)", sr.sheet, row.num, xlsxMaxRows)
				}
				sr.lastRow = row.num
				col = 0
			case "c":
				if !inRow {
					continue
				}
				inCell, hasF = true, false
				ref, typ, style = "", "", 0
				val.Reset()
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "r":
						ref = a.Value
					case "t":
						typ = a.Value
					case "s":
						style, _ = strconv.Atoi(a.Value)
					}
				}
				if c := cellCol(ref); c > 0 {
					if c <= col {
						return row, badXLSX("sheet %q: cell %s comes after column %s of its row", sr.sheet, ref, colName(col))
					}
					col = c
				} else {
					col++
				}
				if col > xlsxMaxCols {
					return row, badXLSX("sheet %q: cell %s is past Excel's last column (XFD)", sr.sheet, ref)
				}
			case "v":
				inV = inCell
			case "f":
				hasF = inCell
			case "is":
				inIS = inCell
			case "t":
				inT = inIS && inRPh == 0
			case "rPh":
				inRPh++
			}
		case xml.CharData:
			if inV || inT {
				rowBytes += len(t)
				if rowBytes > sr.maxRow {
					return row, &InputError{Format: FormatXLSX, Sheet: sr.sheet, Cell: colName(col) + strconv.Itoa(row.num),
						Msg: fmt.Sprintf("row %d holds more than %d bytes of text (ingest.max_record_bytes)", row.num, sr.maxRow)}
				}
				val.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v":
				inV = false
			case "is":
				inIS = false
			case "t":
				inT = false
			case "rPh":
				inRPh--
			case "c":
				if !inCell {
					continue
				}
				inCell = false
				c, ok, err := sr.cell(col, row.num, typ, style, hasF, val.String())
				if err != nil {
					return row, err
				}
				if ok {
					row.cells = append(row.cells, c)
				}
			case "row":
				inRow = false
				if len(row.cells) > 0 {
					return row, nil
				}
			case "sheetData":
				return row, io.EOF
			}
		}
	}
}

// cell turns one <c> into its CSV text; ok is false for an empty cell.
func (sr *sheetReader) cell(col, rowNum int, typ string, style int, hasF bool, v string) (xcell, bool, error) {
	ref := func() string { return colName(col) + strconv.Itoa(rowNum) }
	c := xcell{col: col}
	switch typ {
	case "s":
		if v == "" {
			return c, false, nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		s, ok := sr.sst.get(i)
		if err != nil || !ok {
			return c, false, &InputError{Format: FormatXLSX, Sheet: sr.sheet, Cell: ref(), Msg: fmt.Sprintf("shared string %q does not exist (the table holds %d)", v, len(sr.sst.offs))}
		}
		c.text, c.kind = s, 's'
	case "inlineStr":
		c.text, c.kind = unescapeXLSX(v), 's'
	case "str":
		// A formula's cached result. Excel marks only text results so,
		// but some writers (excelize among them) mark every formula "str":
		// the value is typed like a CSV field, and does not make its
		// column text.
		c.text, c.kind = unescapeXLSX(v), 'f'
		if c.text == "" {
			return c, false, nil
		}
	case "b":
		switch strings.TrimSpace(v) {
		case "1", "true":
			c.text = "true"
		case "0", "false":
			c.text = "false"
		case "":
			return c, false, nil
		default:
			return c, false, &InputError{Format: FormatXLSX, Sheet: sr.sheet, Cell: ref(), Msg: fmt.Sprintf("boolean cell holds %q", v)}
		}
		c.kind = 'b'
	case "e":
		// #DIV/0!, #N/A, ...: no value.
		sr.errorCells++
		if sr.firstError == "" {
			sr.firstError = ref() + " " + v
		}
		return c, false, nil
	case "d":
		t, err := time.Parse("2006-01-02T15:04:05.999999999", strings.TrimSuffix(strings.TrimSpace(v), "Z"))
		if err != nil {
			if t, err = time.Parse("2006-01-02", strings.TrimSpace(v)); err != nil {
				c.text, c.kind = v, 's'
				return c, v != "", nil
			}
		}
		c.text, c.kind = formatXLSXTime(t, sr.styleClass(style)), 'd'
	default: // "n" or none: a number
		v = strings.TrimSpace(v)
		if v == "" {
			if hasF {
				sr.uncached++
			}
			return c, false, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return c, false, &InputError{Format: FormatXLSX, Sheet: sr.sheet, Cell: ref(), Msg: fmt.Sprintf("number cell holds %q", v)}
		}
		c.text, c.kind = v, 'n'
		if cls := sr.styleClass(style); cls != fmtNumber && f >= 0 && !math.IsInf(f, 0) && f < 2958466 { // 9999-12-31
			if t, err := excelize.ExcelDateToTime(f, sr.book.date1904); err == nil {
				if cls == fmtTime && f >= 1 {
					cls = fmtNumber // a duration of a day or more stays a number
				}
				if cls != fmtNumber {
					c.text, c.kind = formatXLSXTime(t, cls), 'd'
				}
			}
		}
	}
	return c, true, nil
}

func (sr *sheetReader) styleClass(s int) fmtClass {
	if s < 0 || s >= len(sr.book.numFmt) {
		return fmtNumber
	}
	return sr.book.numFmt[s]
}

// formatXLSXTime writes a date as ISO (DATE), a date and time as
// "YYYY-MM-DD hh:mm:ss" (TIMESTAMP), a time of day as hh:mm:ss (text).
func formatXLSXTime(t time.Time, cls fmtClass) string {
	switch cls {
	case fmtDate:
		if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
			return t.Format("2006-01-02 15:04:05")
		}
		return t.Format("2006-01-02")
	case fmtTime:
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// xlsxResult is what converting a sheet to CSV found.
type xlsxResult struct {
	sheet     string
	headerRow int
	textCols  map[string]bool
	notes     []string
	header    []string // column names, in CSV order
	firstCol  int
}

// xlsxToCSV writes the chosen sheet of the workbook in f as CSV at out.
func (in *Ingester) xlsxToCSV(ctx context.Context, f *os.File, size int64, req Request, dir, out string) (*xlsxResult, error) {
	book, err := openXLSX(f, size)
	if err != nil {
		return nil, err
	}
	ref, err := book.pickSheet(req.Sheet)
	if err != nil {
		return nil, err
	}
	sst, err := book.readSharedStrings(dir, in.opt.MaxRecordBytes)
	if err != nil {
		return nil, err
	}
	defer sst.close()
	e := book.files[ref.path]
	rc, err := e.Open()
	if err != nil {
		return nil, badXLSX("not a readable xlsx file (part %s: %v)", e.Name, cleanZipErr(err))
	}
	defer rc.Close()
	var src io.Reader = rc
	if req.Progress != nil {
		req.Progress.Total.Store(int64(e.UncompressedSize64))
		src = &progressReader{r: rc, p: req.Progress}
	}
	sr := &sheetReader{d: xml.NewDecoder(bufio.NewReaderSize(src, 1<<20)), book: book, sst: sst, sheet: ref.name, maxRow: in.opt.MaxRecordBytes}
	res := &xlsxResult{sheet: ref.name, textCols: map[string]bool{}}

	// The header: header_row=, else the first of the first rows whose
	// cells are all text and span at least half the widest row's columns
	// (a title line above the table is skipped), else the first row.
	var buffered []xlsxRow
	var hdr *xlsxRow
	for hdr == nil {
		row, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if req.HeaderRow > 0 {
			if row.num == req.HeaderRow {
				hdr = &row
			} else if row.num > req.HeaderRow {
				return nil, &InputError{Format: FormatXLSX, Code: "bad_request", Sheet: ref.name,
					Msg: fmt.Sprintf("header_row=%d: that row of sheet %q is empty", req.HeaderRow, ref.name)}
			}
			continue
		}
		buffered = append(buffered, row)
		if len(buffered) >= headerScanRows {
			break
		}
	}
	if hdr == nil && len(buffered) == 0 {
		if req.HeaderRow > 0 {
			return nil, &InputError{Format: FormatXLSX, Code: "bad_request", Sheet: ref.name,
				Msg: fmt.Sprintf("header_row=%d: sheet %q ends before that row", req.HeaderRow, ref.name)}
		}
		return nil, badXLSX("sheet %q is empty", ref.name)
	}
	var rest []xlsxRow
	if hdr == nil {
		hi := detectHeader(buffered)
		hdr = &buffered[hi]
		rest = buffered[hi+1:]
		if hi > 0 {
			res.notes = append(res.notes, fmt.Sprintf("sheet %q: the header is row %d (the %d row(s) with values above it look like a title and were skipped; say header_row= if that is wrong)", ref.name, hdr.num, hi))
		}
	}
	res.headerRow = hdr.num
	first, last := hdr.cells[0].col, hdr.cells[len(hdr.cells)-1].col
	res.firstCol = first
	names := make([]string, last-first+1)
	for _, c := range hdr.cells {
		names[c.col-first] = strings.Join(strings.Fields(c.text), " ")
	}
	var unnamed []string
	for i, n := range names {
		if n == "" {
			names[i] = "column_" + colName(first+i)
			unnamed = append(unnamed, colName(first+i))
		}
	}
	if len(unnamed) > 0 {
		res.notes = append(res.notes, fmt.Sprintf("sheet %q: header row %d has no name for column(s) %s; they are named column_<letter>", ref.name, hdr.num, strings.Join(unnamed, ", ")))
	}
	res.header = names

	file, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("ingest: xlsx: %w", err)
	}
	defer file.Close()
	w := bufio.NewWriterSize(file, 1<<20)
	writeCSVRow(w, names)
	vals := make([]string, len(names))
	write := func(row xlsxRow) error {
		clear(vals)
		for _, c := range row.cells {
			if c.col < first || c.col > last {
				return &InputError{Format: FormatXLSX, Sheet: ref.name, Cell: colName(c.col) + strconv.Itoa(row.num),
					Msg: fmt.Sprintf("the cell holds a value but its column has no header (header row %d spans columns %s to %s); say header_row= if the header is another row", hdr.num, colName(first), colName(last))}
			}
			vals[c.col-first] = c.text
			if c.kind == 's' {
				res.textCols[names[c.col-first]] = true
			}
		}
		writeCSVRow(w, vals)
		return nil
	}
	for _, row := range rest {
		if err := write(row); err != nil {
			return nil, err
		}
	}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := write(row); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("ingest: xlsx: %w", err)
	}
	if err := file.Close(); err != nil {
		return nil, fmt.Errorf("ingest: xlsx: %w", err)
	}
	if sr.errorCells > 0 {
		res.notes = append(res.notes, fmt.Sprintf("sheet %q: %d cell(s) hold a formula error (the first: %s) and read as NULL", ref.name, sr.errorCells, sr.firstError))
	}
	if sr.uncached > 0 {
		res.notes = append(res.notes, fmt.Sprintf("sheet %q: %d formula cell(s) have no cached value (the workbook was saved without calculating) and read as NULL", ref.name, sr.uncached))
	}
	return res, nil
}

// detectHeader picks the header among the first rows: the first whose
// cells are all text and cover at least half as many columns as the
// widest row; else the first row.
func detectHeader(rows []xlsxRow) int {
	widest := 0
	for _, r := range rows {
		widest = max(widest, r.cells[len(r.cells)-1].col-r.cells[0].col+1)
	}
	for i, r := range rows {
		if i == len(rows)-1 && len(rows) > 1 {
			break // a header needs a row after it
		}
		allText := true
		for _, c := range r.cells {
			if c.kind != 's' {
				allText = false
				break
			}
		}
		if allText && 2*len(r.cells) >= widest {
			return i
		}
	}
	return 0
}

// writeCSVRow writes one record, quoting fields that need it.
func writeCSVRow(w *bufio.Writer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			w.WriteByte('"')
			w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			w.WriteByte('"')
		} else {
			w.WriteString(f)
		}
	}
	w.WriteByte('\n')
}

// progressReader counts the bytes read into a Progress.
type progressReader struct {
	r io.Reader
	p *Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.p.add(int64(n), 0)
	return n, err
}

// ingestXLSX writes the chosen sheet as CSV in a work dir and ingests
// that; the answer reports the workbook's size, the sheet and the header
// row, and a header problem is placed in the sheet.
func (in *Ingester) ingestXLSX(ctx context.Context, f *os.File, size int64, req Request, prev *catalog.Manifest) (Result, error) {
	dir, err := in.workDir()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	release, err := otherSlot(ctx)
	if err != nil {
		return Result{}, err
	}
	csvPath := filepath.Join(dir, "sheet.csv")
	xr, err := in.xlsxToCSV(ctx, f, size, req, dir, csvPath)
	release()
	if err != nil {
		in.met.done(Result{}, err)
		return Result{}, err
	}
	sub := req
	sub.Delimiter, sub.Quote, sub.Encoding = ',', `"`, encUTF8
	sub.textColumns = maps.Clone(xr.textCols)
	if sub.textColumns == nil {
		sub.textColumns = map[string]bool{}
	}
	maps.Copy(sub.textColumns, req.textColumns) // a delete's keys
	res, err := in.ingestFile(ctx, csvPath, sub, prev)
	var ce *CSVError
	if errors.As(err, &ce) && ce.Line == 1 && ce.Column >= 1 && ce.Column <= len(xr.header) {
		err = &InputError{Format: FormatXLSX, Sheet: xr.sheet, Cell: colName(xr.firstCol+ce.Column-1) + strconv.Itoa(xr.headerRow), Msg: ce.Msg}
	}
	st := &res.Stats
	st.InputBytes = size
	st.Delimiter, st.DelimiterDetected, st.Quote, st.QuoteDetected = "", false, "", false
	st.Encoding, st.EncodingDetected, st.BOM = "", false, false
	st.Sheet, st.HeaderRow = xr.sheet, xr.headerRow
	st.Notes = append(xr.notes, st.Notes...)
	return res, err
}
