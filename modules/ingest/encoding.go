package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Encodings an ingest reads (the names the answer reports).
const (
	encUTF8        = "utf-8"
	encUTF16       = "utf-16" // only as a request: the byte order mark decides, else LE
	encUTF16LE     = "utf-16le"
	encUTF16BE     = "utf-16be"
	encWindows1252 = "windows-1252"
	encLatin1      = "latin-1"
)

// acceptedEncodings is what a 400 for an unknown encoding= lists.
const acceptedEncodings = "utf-8, utf-16 (the byte order mark decides, else little-endian), utf-16le, utf-16be, windows-1252 (alias cp1252), latin-1 (alias iso-8859-1)"

// parseEncoding canonicalises an encoding= value; "" means detect.
func parseEncoding(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	switch n {
	case "":
		return "", nil
	case "utf-8", "utf8":
		return encUTF8, nil
	case "utf-16", "utf16":
		return encUTF16, nil
	case "utf-16le", "utf16le", "utf-16-le":
		return encUTF16LE, nil
	case "utf-16be", "utf16be", "utf-16-be":
		return encUTF16BE, nil
	case "windows-1252", "windows1252", "cp1252", "cp-1252", "win-1252", "win1252":
		return encWindows1252, nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-1:1987", "l1":
		return encLatin1, nil
	}
	return "", fmt.Errorf("unknown encoding %q; accepted: %s", s, acceptedEncodings)
}

// Byte order marks.
var (
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// encodingChoice is how an input is read.
type encodingChoice struct {
	name     string // canonical: utf-8, utf-16le, utf-16be, windows-1252, latin-1
	detected bool   // chosen by looking at the bytes (no encoding= given)
	bom      bool   // the file starts with a byte order mark (dropped)
	skip     int64  // bytes of byte order mark a transcoding skips
	note     string // what the answer says about the choice, if anything
}

// transcodes reports whether the input must be turned into UTF-8 first.
func (e encodingChoice) transcodes() bool { return e.name != encUTF8 }

// chooseEncoding decides how to read the input: given (canonical, "" =
// detect) wins, except that a byte order mark contradicting it is an
// error. Detection: a UTF-8 or UTF-16 byte order mark decides; NUL bytes
// in every other position of the first KiB mean UTF-16 without a mark
// (the answer says so); otherwise the whole input is checked (in parallel, at memory speed): valid UTF-8
// is UTF-8; invalid UTF-8 without a single well-formed multi-byte UTF-8
// character is read as Windows-1252 (and the answer says so); a mix of
// both stays UTF-8, so the parse reports the first bad byte with its line.
func chooseEncoding(r io.ReaderAt, size int64, given string, workers int) (encodingChoice, error) {
	head := make([]byte, min(size, 4))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return encodingChoice{}, fmt.Errorf("ingest: read input: %w", err)
	}
	mark := ""
	switch {
	case bytes.HasPrefix(head, bom):
		mark = encUTF8
	case bytes.HasPrefix(head, bomUTF16LE):
		mark = encUTF16LE
	case bytes.HasPrefix(head, bomUTF16BE):
		mark = encUTF16BE
	}
	conflict := func() error {
		return &CSVError{Line: 1, Column: 1, Msg: fmt.Sprintf("the file starts with a %s byte order mark but encoding=%s was given (leave encoding= out to follow the mark)", strings.ToUpper(mark), given)}
	}
	switch given {
	case encUTF8:
		if mark != "" && mark != encUTF8 {
			return encodingChoice{}, conflict()
		}
		return encodingChoice{name: encUTF8, bom: mark == encUTF8}, nil // the plan skips the mark
	case encUTF16, encUTF16LE, encUTF16BE:
		name := given
		if given == encUTF16 {
			name = encUTF16LE
			if mark == encUTF16BE {
				name = encUTF16BE
			}
		}
		if mark != "" && mark != name {
			return encodingChoice{}, conflict()
		}
		c := encodingChoice{name: name}
		if mark != "" {
			c.bom, c.skip = true, 2
		}
		return c, nil
	case encWindows1252, encLatin1:
		if mark != "" {
			return encodingChoice{}, conflict()
		}
		return encodingChoice{name: given}, nil
	}
	switch mark {
	case encUTF8:
		return encodingChoice{name: encUTF8, detected: true, bom: true}, nil
	case encUTF16LE, encUTF16BE:
		return encodingChoice{name: mark, detected: true, bom: true, skip: 2}, nil
	}
	if enc, err := sniffUTF16(r, size); err != nil || enc != "" {
		return encodingChoice{name: enc, detected: true,
			note: "the file has no byte order mark but NUL bytes in every other position: read as " + enc + " (name the encoding if that is wrong)"}, err
	}
	ok, err := validUTF8(r, size, workers)
	if err != nil || ok {
		return encodingChoice{name: encUTF8, detected: true}, err
	}
	multi, err := hasMultibyteUTF8(r, size)
	if err != nil || multi {
		return encodingChoice{name: encUTF8, detected: true}, err
	}
	return encodingChoice{name: encWindows1252, detected: true,
		note: "the file is not valid UTF-8 and holds no UTF-8 multi-byte character: read as windows-1252 (if that is wrong, name the encoding: encoding=latin-1, utf-16le, …)"}, nil
}

// sniffUTF16 recognises UTF-16 without a byte order mark by its NUL
// bytes: in the first KiB, at least a third of the bytes at one parity are
// NUL and at most one in twenty at the other (text in UTF-8 or a
// single-byte encoding has no NULs to speak of).
func sniffUTF16(r io.ReaderAt, size int64) (string, error) {
	b := make([]byte, min(size, 1024)&^1)
	if len(b) < 4 {
		return "", nil
	}
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return "", fmt.Errorf("ingest: read input: %w", err)
	}
	var zeros [2]int
	for i, c := range b {
		if c == 0 {
			zeros[i&1]++
		}
	}
	half := len(b) / 2
	switch {
	case zeros[1]*3 >= half && zeros[0]*20 <= half:
		return encUTF16LE, nil
	case zeros[0]*3 >= half && zeros[1]*20 <= half:
		return encUTF16BE, nil
	}
	return "", nil
}

// utf8Block is the unit of the parallel UTF-8 check.
const utf8Block = 8 << 20

// validUTF8 reports whether the whole input is valid UTF-8, checking
// utf8Block blocks on `workers` goroutines. A block skips the
// continuation bytes it starts with and runs on over those it ends in,
// so a character cut by a block boundary is checked whole, once.
func validUTF8(r io.ReaderAt, size int64, workers int) (bool, error) {
	n := int((size + utf8Block - 1) / utf8Block)
	jobs := make(chan int, n)
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	var bad atomic.Bool
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < min(max(workers, 1), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, min(int64(utf8Block+utf8.UTFMax), size))
			for i := range jobs {
				if bad.Load() {
					continue
				}
				off := int64(i) * utf8Block
				want := min(int64(len(buf)), size-off)
				got, err := r.ReadAt(buf[:want], off)
				if err != nil && err != io.EOF {
					mu.Lock()
					firstErr = fmt.Errorf("ingest: read input: %w", err)
					mu.Unlock()
					bad.Store(true)
					continue
				}
				b := buf[:got]
				s := 0
				if i > 0 {
					for s < utf8.UTFMax-1 && s < len(b) && !utf8.RuneStart(b[s]) {
						s++
					}
				}
				e := min(utf8Block, len(b))
				for e < len(b) && !utf8.RuneStart(b[e]) {
					e++
				}
				if !utf8.Valid(b[s:e]) {
					bad.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return !bad.Load(), firstErr
}

// hasMultibyteUTF8 reports whether the input holds at least one
// well-formed multi-byte UTF-8 sequence (stopping at the first).
func hasMultibyteUTF8(r io.ReaderAt, size int64) (bool, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<20)
	buf := make([]byte, 1<<20)
	carry := 0
	for {
		n, err := io.ReadFull(br, buf[carry:])
		n += carry
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return false, fmt.Errorf("ingest: read input: %w", err)
		}
		b := buf[:n]
		i := 0
		for i < len(b) {
			if b[i] < utf8.RuneSelf {
				i++
				continue
			}
			if !eof && len(b)-i < utf8.UTFMax {
				break // may be cut by the buffer: decode it with the next read
			}
			if _, sz := utf8.DecodeRune(b[i:]); sz > 1 {
				return true, nil
			}
			i++
		}
		if eof {
			return false, nil
		}
		carry = copy(buf, b[i:])
	}
}

// cp1252High maps Windows-1252 bytes 0x80–0x9F to code points; the five
// bytes Windows-1252 leaves undefined map to the C1 control of the same
// value (as the WHATWG encoding standard does). 0xA0–0xFF equal Latin-1.
var cp1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// transcode copies src to dst as UTF-8, decoding it as enc (a canonical
// name other than utf-8), one buffer at a time (memory stays bounded
// whatever the input's size). progress, when set, counts input bytes.
func transcode(dst io.Writer, src io.Reader, enc string, progress func(int64)) error {
	bw := bufio.NewWriterSize(dst, 1<<20)
	var err error
	switch enc {
	case encWindows1252, encLatin1:
		err = transcodeSingleByte(bw, src, enc == encWindows1252, progress)
	case encUTF16LE, encUTF16BE:
		err = transcodeUTF16(bw, src, enc == encUTF16BE, progress)
	default:
		err = fmt.Errorf("ingest: no transcoder for %q", enc)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func transcodeSingleByte(dst *bufio.Writer, src io.Reader, cp1252 bool, progress func(int64)) error {
	buf := make([]byte, 1<<20)
	out := make([]byte, 0, 3<<20)
	for {
		n, rerr := src.Read(buf)
		out = out[:0]
		b := buf[:n]
		for len(b) > 0 {
			i := 0
			for i < len(b) && b[i] < utf8.RuneSelf {
				i++
			}
			out = append(out, b[:i]...)
			if i == len(b) {
				break
			}
			c := b[i]
			r := rune(c)
			if cp1252 && c < 0xA0 {
				r = cp1252High[c-0x80]
			}
			out = utf8.AppendRune(out, r)
			b = b[i+1:]
		}
		if _, err := dst.Write(out); err != nil {
			return fmt.Errorf("ingest: write transcoded input: %w", err)
		}
		if progress != nil {
			progress(int64(n))
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("ingest: read input: %w", rerr)
		}
	}
}

// transcodeUTF16 decodes UTF-16 code units; a surrogate without its pair
// or an odd byte at the end is a CSVError on the line it is on.
func transcodeUTF16(dst *bufio.Writer, src io.Reader, be bool, progress func(int64)) error {
	buf := make([]byte, 1<<20)
	out := make([]byte, 0, 3<<19+8)
	carry := 0    // an odd byte left from the last read
	var hi uint16 // a high surrogate waiting for its pair
	lines := int64(1)
	var in int64 // input bytes decoded, for messages
	bad := func(msg string) error {
		return &CSVError{Line: lines, Column: 1, Msg: fmt.Sprintf("invalid UTF-16: %s at byte %d of the file", msg, in)}
	}
	for {
		n, rerr := io.ReadFull(src, buf[carry:])
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return fmt.Errorf("ingest: read input: %w", rerr)
		}
		if progress != nil {
			progress(int64(n))
		}
		n += carry
		out = out[:0]
		i := 0
		for ; i+1 < n; i += 2 {
			var u uint16
			if be {
				u = uint16(buf[i])<<8 | uint16(buf[i+1])
			} else {
				u = uint16(buf[i+1])<<8 | uint16(buf[i])
			}
			switch {
			case hi != 0:
				if u < 0xDC00 || u > 0xDFFF {
					return bad(fmt.Sprintf("a high surrogate 0x%04X not followed by a low one", hi))
				}
				out = utf8.AppendRune(out, 0x10000+(rune(hi)-0xD800)<<10+(rune(u)-0xDC00))
				hi = 0
			case u >= 0xD800 && u <= 0xDBFF:
				hi = u
			case u >= 0xDC00 && u <= 0xDFFF:
				return bad(fmt.Sprintf("a low surrogate 0x%04X without a high one", u))
			case u < utf8.RuneSelf:
				out = append(out, byte(u))
				if u == '\n' {
					lines++
				}
			default:
				out = utf8.AppendRune(out, rune(u))
			}
			in += 2
		}
		if _, err := dst.Write(out); err != nil {
			return fmt.Errorf("ingest: write transcoded input: %w", err)
		}
		carry = copy(buf, buf[i:n])
		if eof {
			if hi != 0 {
				return bad(fmt.Sprintf("the file ends after a high surrogate 0x%04X", hi))
			}
			if carry != 0 {
				return bad("the file ends in the middle of a 2-byte unit")
			}
			return nil
		}
	}
}
