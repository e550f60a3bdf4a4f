package ingest

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// field is one parsed field: buf[start:end] of the parser's buffer, valid
// until the next call to next. escaped means it holds "" pairs to undo.
type field struct {
	start, end int
	quoted     bool
	escaped    bool
}

// parser is a strict RFC 4180 reader over the byte range [off, end) of a
// ReaderAt that starts and ends at record boundaries. It reuses one buffer
// (grown only for records longer than it) so memory stays bounded.
type parser struct {
	r     io.ReaderAt
	off   int64 // next offset to read
	end   int64 // range end
	buf   []byte
	pos   int // start of unparsed bytes in buf
	n     int // end of valid bytes in buf
	eof   bool
	delim byte
	// quote is the quote character; 0 means fields are never quoted.
	quote byte
	// noUTF8 skips the UTF-8 check (the dialect sniffer judges structure
	// only; the real parse checks).
	noUTF8 bool
	// unterminated is set when the last error was a quoted field that the
	// range ended inside (the sniffer's window may cut one).
	unterminated bool
	// line is the physical line the next record starts on.
	line    int64
	fields  []field
	cls     [256]uint8
	maxRec  int
	scratch []byte
	// recStart/recEnd bound the last record in buf (for UTF-8 checks).
	consumed int64 // bytes of the range consumed so far
}

const (
	clsDelim = 1
	clsNL    = 2
	clsQuote = 3
)

func newParser(r io.ReaderAt, off, end int64, delim byte, line int64, bufSize int) *parser {
	p := &parser{r: r, off: off, end: end, buf: make([]byte, bufSize), delim: delim, line: line, maxRec: defaultMaxRecord}
	p.cls[delim] = clsDelim
	p.cls['\n'] = clsNL
	return p.withQuote('"')
}

// withQuote sets the quote character (0: none, every quote byte is
// ordinary text).
func (p *parser) withQuote(q byte) *parser {
	if p.quote != 0 && p.cls[p.quote] == clsQuote {
		p.cls[p.quote] = 0
	}
	p.quote = q
	if q != 0 {
		p.cls[q] = clsQuote
	}
	return p
}

// defaultMaxRecord bounds a record when no limit is set (ingest.max_record_bytes).
const defaultMaxRecord = 64 << 20

// limit sets the longest record the parser accepts (n <= 0 keeps the
// default); a longer one is a CSVError naming the limit.
func (p *parser) limit(n int) *parser {
	if n > 0 {
		p.maxRec = n
	}
	return p
}

// fill compacts the buffer and reads more of the range; it grows the
// buffer when a single record fills it.
func (p *parser) fill() error {
	if p.pos > 0 {
		copy(p.buf, p.buf[p.pos:p.n])
		p.n -= p.pos
		p.pos = 0
	}
	if p.n == len(p.buf) {
		if len(p.buf) >= p.maxRec {
			return &CSVError{Line: p.line, Column: 1, Msg: fmt.Sprintf("a record longer than %d bytes (ingest.max_record_bytes; an unterminated quote, or no newlines?)", p.maxRec)}
		}
		nb := make([]byte, 2*len(p.buf))
		copy(nb, p.buf[:p.n])
		p.buf = nb
	}
	want := int64(len(p.buf) - p.n)
	if rem := p.end - p.off; rem < want {
		want = rem
	}
	if want > 0 {
		got, err := p.r.ReadAt(p.buf[p.n:p.n+int(want)], p.off)
		p.n += got
		p.off += int64(got)
		if err != nil && !(err == io.EOF && int64(got) == want) {
			if err == io.EOF {
				p.end = p.off // the file is shorter than expected
			} else {
				return fmt.Errorf("ingest: read input: %w", err)
			}
		}
	}
	if p.off >= p.end {
		p.eof = true
	}
	return nil
}

// next parses the next record. It returns the fields, the line the record
// starts on, and io.EOF at the end of the range. Blank lines are skipped.
func (p *parser) next() ([]field, int64, error) {
	for {
		fs, line, more, err := p.parseRecord()
		if err != nil {
			return nil, line, err
		}
		if more {
			if p.eof {
				if p.pos >= p.n {
					return nil, p.line, io.EOF
				}
			}
			if err := p.fill(); err != nil {
				return nil, p.line, err
			}
			if p.eof && p.pos >= p.n {
				return nil, p.line, io.EOF
			}
			continue
		}
		if fs == nil { // blank line
			continue
		}
		return fs, line, nil
	}
}

// parseRecord parses one record from buf[pos:n]. more=true means the
// buffer ended before the record did (and the range has more bytes).
func (p *parser) parseRecord() (fs []field, line int64, more bool, err error) {
	buf := p.buf[:p.n]
	i := p.pos
	if i >= len(buf) {
		return nil, p.line, true, nil
	}
	start := i
	fs = p.fields[:0]
	nl := int64(0) // newlines inside quoted fields
	ascii := true
	for {
		if i >= len(buf) {
			if !p.eof {
				return nil, p.line, true, nil
			}
			fs = append(fs, field{start: i, end: i})
			break
		}
		if p.cls[buf[i]] == clsQuote {
			q := p.quote
			j := i + 1
			escaped := false
			for {
				k := bytes.IndexByte(buf[j:], q)
				if k < 0 {
					if !p.eof {
						return nil, p.line, true, nil
					}
					p.unterminated = true
					return nil, p.line, false, p.errAt(start, len(fs)+1, nl, "unterminated quoted field")
				}
				j += k
				if j+1 < len(buf) && buf[j+1] == q {
					escaped = true
					j += 2
					continue
				}
				if j+1 >= len(buf) && !p.eof {
					return nil, p.line, true, nil
				}
				break
			}
			nl += int64(bytes.Count(buf[i:j], nlByte))
			fs = append(fs, field{start: i + 1, end: j, quoted: true, escaped: escaped})
			i = j + 1
			if i >= len(buf) {
				break // EOF right after the closing quote
			}
			c := buf[i]
			if c == p.delim {
				i++
				continue
			}
			if c == '\n' {
				i++
				break
			}
			if c == '\r' {
				if i+1 >= len(buf) {
					if !p.eof {
						return nil, p.line, true, nil
					}
					i++
					break
				}
				if buf[i+1] == '\n' {
					i += 2
					break
				}
			}
			return nil, p.line, false, p.errAt(start, len(fs), nl, fmt.Sprintf("unexpected %q after a closing quote (a quote inside a quoted field must be doubled)", c))
		}
		j := i
		cls := &p.cls
		for j < len(buf) {
			c := buf[j]
			if cls[c] != 0 {
				break
			}
			if c >= 0x80 {
				ascii = false
			}
			j++
		}
		if j >= len(buf) && !p.eof {
			return nil, p.line, true, nil
		}
		if j < len(buf) && cls[buf[j]] == clsQuote {
			return nil, p.line, false, p.errAt(start, len(fs)+1, nl, "a quote inside an unquoted field (quote the whole field and double the quote, or say quote=none)")
		}
		e := j
		if e > i && buf[e-1] == '\r' {
			e--
		}
		fs = append(fs, field{start: i, end: e})
		if j >= len(buf) {
			i = j
			break
		}
		i = j + 1
		if buf[j] == '\n' {
			break
		}
	}
	line = p.line
	p.fields = fs
	p.pos = i
	p.consumed += int64(i - start)
	p.line += 1 + nl
	// Validate UTF-8 once per record (quoted fields were not scanned byte
	// by byte, so check them too unless the record is known ASCII).
	rec := buf[start:i]
	if (!ascii || hasQuoted(fs)) && !p.noUTF8 && !utf8.Valid(rec) {
		return nil, line, false, p.utf8Error(line, fs)
	}
	if len(fs) == 1 && fs[0].end == fs[0].start && !fs[0].quoted {
		return nil, line, false, nil // blank line
	}
	return fs, line, false, nil
}

var nlByte = []byte{'\n'}

func hasQuoted(fs []field) bool {
	for _, f := range fs {
		if f.quoted {
			return true
		}
	}
	return false
}

func (p *parser) errAt(start, col int, nl int64, msg string) error {
	// Count the newlines between the record start and the problem so the
	// line points at it, not at the record's first line.
	return &CSVError{Line: p.line + nl, Column: max(col, 1), Msg: msg}
}

func (p *parser) utf8Error(line int64, fs []field) error {
	for i, f := range fs {
		b := p.buf[f.start:f.end]
		if !utf8.Valid(b) {
			off := 0
			for off < len(b) {
				r, sz := utf8.DecodeRune(b[off:])
				if r == utf8.RuneError && sz <= 1 {
					break
				}
				off += sz
			}
			return &CSVError{Line: line + int64(bytes.Count(p.buf[fs[0].start:f.start+off], nlByte)), Column: i + 1,
				Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x at offset %d of the field)%s", b[off], off, encodingHint)}
		}
	}
	return &CSVError{Line: line, Column: 1, Msg: "invalid UTF-8" + encodingHint}
}

// encodingHint ends an invalid UTF-8 message: the file may be in another
// encoding, which the request can name.
const encodingHint = "; if the file is not UTF-8, name its encoding: encoding=windows-1252, latin-1, utf-16le or utf-16be"

// value returns a field's bytes with doubled quotes undone.
func (p *parser) value(f field) []byte {
	b := p.buf[f.start:f.end]
	if !f.escaped {
		return b
	}
	p.scratch = p.scratch[:0]
	for i := 0; i < len(b); i++ {
		p.scratch = append(p.scratch, b[i])
		if b[i] == p.quote {
			i++ // skip the second quote of the pair
		}
	}
	return p.scratch
}
