package ingest

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"lakehouse/modules/catalog"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// candidates are the delimiters sniffed, in preference order on ties.
var candidates = []byte{',', ';', '\t', '|'}

// sniffDelimiter picks the candidate that splits the first records of the
// input into the same number (> 1) of fields, the most fields winning;
// ',' when none does (a one-column file).
func sniffDelimiter(r io.ReaderAt, start, size int64) byte {
	end := min(size, start+64<<10)
	best, bestN := byte(','), 1
	for _, d := range candidates {
		p := newParser(r, start, end, d, 1, 64<<10+16)
		n, recs, ok := 0, 0, true
		for recs < 20 {
			fs, _, err := p.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				// The sample window may cut a record: judge what parsed.
				ok = recs > 0 && end < size
				break
			}
			if recs == 0 {
				n = len(fs)
			} else if len(fs) != n {
				// The last record in a cut window may be short.
				if end < size && p.eof && p.pos >= p.n {
					break
				}
				ok = false
				break
			}
			recs++
		}
		if ok && n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// parseDelimiter reads the delimiter query parameter: one character, or
// "tab" / "\t".
func parseDelimiter(s string) (byte, error) {
	switch s {
	case "":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	}
	if len(s) != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r' {
		return 0, fmt.Errorf("delimiter must be one character (or \"tab\"), not %q", s)
	}
	return s[0], nil
}

// headerNames validates the header record: non-empty names without
// control characters (the catalog refuses them: NUL cuts a name short in
// DuckDB), unique ignoring case (DuckDB identifiers are case-insensitive,
// so "id" and "ID" could not both be columns of the dataset's view).
func headerNames(p *parser, fs []field) ([]string, error) {
	names := make([]string, len(fs))
	seen := map[string]int{}
	for i, f := range fs {
		n := strings.TrimSpace(string(p.value(f)))
		if n == "" {
			return nil, &CSVError{Line: 1, Column: i + 1, Msg: "empty column name in the header"}
		}
		if len(n) > maxColumnName {
			return nil, &CSVError{Line: 1, Column: i + 1, Msg: fmt.Sprintf("a column name of %d bytes; at most %d are allowed", len(n), maxColumnName)}
		}
		if err := catalog.ValidateColumnName(n); err != nil {
			return nil, &CSVError{Line: 1, Column: i + 1, Msg: fmt.Sprintf("column name %q in the header: %v", n, err)}
		}
		if j, dup := seen[strings.ToLower(n)]; dup {
			return nil, &CSVError{Line: 1, Column: i + 1, ColumnName: n, Msg: fmt.Sprintf("duplicate column name %q (column %d is %q; names are compared ignoring case)", n, j+1, names[j])}
		}
		seen[strings.ToLower(n)] = i
		names[i] = n
	}
	return names, nil
}

func hasBOM(r io.ReaderAt, size int64) bool {
	if size < 3 {
		return false
	}
	b := make([]byte, 3)
	if _, err := r.ReadAt(b, 0); err != nil {
		return false
	}
	return bytes.Equal(b, bom)
}
