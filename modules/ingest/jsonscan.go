package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// normalizeJSON checks a JSON input record by record and writes it as
// NDJSON (one compact object per line) to out, which DuckDB then reads:
// the input may be NDJSON, objects one after another (pretty-printed
// ones too), or one array of objects. Each record is held in memory
// alone, at most maxRec bytes. Every problem names the record and the
// input line it starts on (or the line of a syntax error).
func normalizeJSON(ctx context.Context, f *os.File, size int64, out string, maxRec int, prog *Progress) (records int64, err error) {
	start := int64(0)
	if hasBOM(f, size) {
		start = 3
	}
	cr := &capReader{r: io.NewSectionReader(f, start, size-start), prog: prog}
	br := bufio.NewReaderSize(cr, 1<<20)
	// The first non-blank byte says array or a sequence of values.
	var first byte
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, &InputError{Format: FormatJSON, Line: 1, Msg: "empty input (no JSON record)"}
		}
		if err != nil {
			return 0, fmt.Errorf("ingest: read input: %w", err)
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			first = b
			_ = br.UnreadByte()
			break
		}
	}
	w, err := os.Create(out)
	if err != nil {
		return 0, fmt.Errorf("ingest: json: %w", err)
	}
	defer w.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	dec := json.NewDecoder(br)
	dec.UseNumber()
	// lineAt counts the input's lines up to an offset of the decoder's
	// stream (only when reporting an error).
	lineAt := func(off int64) int64 {
		return countLines(f, start, start+off)
	}
	fail := func(rec int64, off int64, msg string) error {
		return &InputError{Format: FormatJSON, Record: rec, Line: lineAt(off), Msg: msg}
	}
	array := first == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return 0, fail(0, dec.InputOffset(), "invalid JSON: "+jsonErrMsg(err))
		}
	}
	var raw json.RawMessage
	var buf bytes.Buffer
	for {
		if array && !dec.More() {
			break
		}
		recStart := dec.InputOffset()
		cr.limit = cr.n + int64(maxRec) + (1 << 20) // what the decoder may buffer for one record
		raw = raw[:0]
		err := dec.Decode(&raw)
		if err == io.EOF && !array {
			break
		}
		rec := records + 1
		if err != nil {
			var se *json.SyntaxError
			switch {
			case errors.Is(err, errRecordTooLarge):
				return 0, fail(rec, skipBlank(f, start, recStart), fmt.Sprintf("the record is longer than %d bytes (ingest.max_record_bytes)", maxRec))
			case errors.As(err, &se):
				return 0, fail(rec, se.Offset, "invalid JSON: "+jsonErrMsg(err))
			case err == io.ErrUnexpectedEOF || err == io.EOF:
				return 0, fail(rec, skipBlank(f, start, recStart), "the input ends inside this record (unterminated object, array or string)")
			}
			return 0, fmt.Errorf("ingest: read input: %w", err)
		}
		if len(raw) > maxRec {
			return 0, fail(rec, skipBlank(f, start, recStart), fmt.Sprintf("the record is longer than %d bytes (ingest.max_record_bytes)", maxRec))
		}
		if raw[0] != '{' {
			return 0, fail(rec, skipBlank(f, start, recStart), fmt.Sprintf("the record is %s, not an object (each record is one row: {\"column\": value, ...})", jsonKind(raw[0])))
		}
		if !utf8.Valid(raw) {
			return 0, fail(rec, skipBlank(f, start, recStart), "the record holds bytes that are not UTF-8 (JSON is UTF-8)")
		}
		buf.Reset()
		if err := json.Compact(&buf, raw); err != nil {
			return 0, fail(rec, skipBlank(f, start, recStart), "invalid JSON: "+jsonErrMsg(err))
		}
		buf.WriteByte('\n')
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return 0, fmt.Errorf("ingest: json: %w", err)
		}
		records++
		if records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return 0, fail(0, dec.InputOffset(), "invalid JSON after the last record of the array: "+jsonErrMsg(err))
		}
		cr.limit = 0
		// Nothing but blanks may follow the array.
		if _, err := dec.Token(); err != io.EOF {
			return 0, fail(0, dec.InputOffset(), "the input continues after the array's closing ]")
		}
	}
	if records == 0 {
		return 0, &InputError{Format: FormatJSON, Line: 1, Msg: "no JSON record (an empty array)"}
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("ingest: json: %w", err)
	}
	return records, w.Close()
}

var errRecordTooLarge = errors.New("record too large")

// capReader counts bytes read (and reports them as progress) and fails
// once more than limit bytes were read (limit 0: no limit).
type capReader struct {
	r     io.Reader
	n     int64
	limit int64
	prog  *Progress
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.limit > 0 && c.n >= c.limit {
		return 0, errRecordTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.prog != nil {
		c.prog.add(int64(n), 0)
	}
	return n, err
}

// jsonErrMsg is a decoder error without Go's "json: " prefix.
func jsonErrMsg(err error) string {
	msg := err.Error()
	if len(msg) > 6 && msg[:6] == "json: " {
		msg = msg[6:]
	}
	return msg
}

func jsonKind(b byte) string {
	switch b {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// skipBlank returns the offset (relative to start) of the first
// non-blank byte at or after off: where a record really starts.
func skipBlank(f *os.File, start, off int64) int64 {
	var b [4096]byte
	for {
		n, err := f.ReadAt(b[:], start+off)
		for i := 0; i < n; i++ {
			if c := b[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' {
				return off + int64(i)
			}
		}
		off += int64(n)
		if err != nil || n == 0 {
			return off
		}
	}
}

// countLines returns the 1-based line of the byte at offset end.
func countLines(f *os.File, start, end int64) int64 {
	line := int64(1)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < end; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		line += int64(bytes.Count(buf[:n], []byte{'\n'}))
		off += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	return line
}
