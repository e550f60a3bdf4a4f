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

// quoteCandidates are the quote characters sniffed (0: no quoting), in
// preference order.
var quoteCandidates = []byte{'"', '\'', 0}

// sniffWindow and sniffRecords bound the sample the dialect is judged on.
const (
	sniffWindow  = 256 << 10
	sniffRecords = 200
)

// dialectTry is how one (delimiter, quote) pair reads the sample.
type dialectTry struct {
	delim, quote byte
	fields       int  // fields in the header
	records      int  // records read before the sample ended or broke
	consistent   bool // every record read has the header's field count
	clean        bool // no parse error in the sample
	quoted       int  // fields that were quoted with the quote character
	// quoteLike counts fields starting with a quote character a reading
	// without quoting keeps as text (they suggest quoting was meant).
	quoteLike int
}

// viable: the pair splits the header into more than one field and every
// record read into as many.
func (d dialectTry) viable() bool { return d.consistent && d.fields > 1 }

// tryDialect parses the sample [start, end) with one pair. A sample cut
// short of the file ends after its last newline, so only a quoted field
// holding newlines can be cut (that is not held against the pair).
func tryDialect(r io.ReaderAt, start, end int64, cut bool, delim, quote byte) dialectTry {
	t := dialectTry{delim: delim, quote: quote, consistent: true, clean: true}
	p := newParser(r, start, end, delim, 1, int(end-start)+16).withQuote(quote)
	p.noUTF8 = true
	for t.records < sniffRecords {
		fs, _, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !(cut && p.unterminated) {
				t.clean = false
			}
			break
		}
		for _, f := range fs {
			if f.quoted {
				t.quoted++
			} else if quote == 0 && f.end > f.start && (p.buf[f.start] == '"' || p.buf[f.start] == '\'') {
				t.quoteLike++
			}
		}
		if t.records == 0 {
			t.fields = len(fs)
		} else if len(fs) != t.fields {
			t.consistent = false
			break
		}
		t.records++
	}
	return t
}

// sniffDialect picks the delimiter and the quote character from the first
// records (up to sniffRecords, within sniffWindow bytes); delim != 0 and
// quoteGiven fix that half of the choice.
//
// A pair is viable when it splits the header into n > 1 fields and every
// sampled record into n too. For each delimiter pickQuote chooses among
// its viable readings; a delimiter whose only viable reading hits a parse
// error (a bare quote, say) keeps it, so the error is reported with the
// right delimiter. Among delimiters a clean reading beats one with an
// error, then more fields win, then the order , ; tab |. No viable pair:
// ',' and '"' (a one-column file).
func sniffDialect(r io.ReaderAt, start, size int64, delim byte, quote byte, quoteGiven bool) (byte, byte) {
	w := make([]byte, min(size, start+sniffWindow)-start)
	n, _ := r.ReadAt(w, start)
	w = w[:n]
	cut := start+int64(n) < size
	if cut {
		if i := bytes.LastIndexByte(w, '\n'); i >= 0 {
			w = w[:i+1]
		}
	}
	sample := bytes.NewReader(w)
	delims := candidates
	if delim != 0 {
		delims = []byte{delim}
	}
	quotes := quoteCandidates
	if quoteGiven {
		quotes = []byte{quote}
	}
	var best *dialectTry
	better := func(a, b *dialectTry) bool { // a better than b
		if b == nil {
			return true
		}
		if a.clean != b.clean {
			return a.clean
		}
		return a.fields > b.fields
	}
	for _, d := range delims {
		var tries []dialectTry
		for _, q := range quotes {
			if q != d {
				if t := tryDialect(sample, 0, int64(len(w)), cut, d, q); t.viable() {
					tries = append(tries, t)
				}
			}
		}
		if pick := pickQuote(tries); pick != nil && better(pick, best) {
			best = pick
		}
	}
	switch {
	case best != nil:
		return best.delim, best.quote
	case delim != 0 && quoteGiven:
		return delim, quote
	case delim != 0:
		return delim, '"'
	case quoteGiven:
		return ',', quote
	}
	return ',', '"'
}

// pickQuote chooses among one delimiter's viable readings (in
// quoteCandidates order): a clean one that quotes some field (double
// quote before single quote); else the clean double-quote reading; else
// the clean reading without quoting, unless a field of it starts with a
// quote character (a malformed quoted field: better reported than kept
// as text); else the first (its parse error is what the ingest reports).
// A clean single-quote reading that quotes nothing reads like none.
func pickQuote(tries []dialectTry) *dialectTry {
	for _, t := range tries {
		if t.clean && t.quoted > 0 {
			return &t
		}
	}
	for _, t := range tries {
		if t.clean && (t.quote == '"' || (t.quote == 0 && t.quoteLike == 0)) {
			return &t
		}
	}
	if len(tries) > 0 {
		return &tries[0]
	}
	return nil
}

// parseQuote reads the quote query parameter: '"', "'" or "none" ("" =
// sniff). given is false for "".
func parseQuote(s string) (q byte, given bool, err error) {
	switch s {
	case "":
		return 0, false, nil
	case `"`, "double":
		return '"', true, nil
	case "'", "single":
		return '\'', true, nil
	case "none":
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("quote must be '\"', \"'\" or \"none\", not %q", s)
}

// quoteName is how the answer shows a quote character.
func quoteName(q byte) string {
	if q == 0 {
		return "none"
	}
	return string(q)
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
