package ingest

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzCSVParser: any bytes, read with any buffer size, either parse or
// fail with a *CSVError that names a line; the parse never panics or
// loops, record lines never go backwards, and the same input gives the
// same records whatever the buffer size (records straddling refills).
// Each input is read with every quote character the sniffer may choose
// (double quote, single quote, none). The seeds run in a normal `go test`.
func FuzzCSVParser(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\r\n\"x,1\",\"multi\nline\"\n", "\"open\n", "a\"b\n", "\xef\xbb\xbfa,b\n1,2",
		",,,\n\n\n", "\"\"\"\"\n", "a;b\n1;2\n", "\x00\xff,\"\x00\"\n",
		"a,b\n'x,y',1\n'O''Brien',2\n", "a,b\n5\" tv,'80s\n", "caf\xe9,x\n\x93q\x94,2\n"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, buf uint8) {
		for _, q := range quoteCandidates {
			fuzzParse(t, data, buf, q)
		}
	})
}

func fuzzParse(t *testing.T, data []byte, buf uint8, quote byte) {
	small := parseAllBytes(t, data, int(buf%64)+1, quote)
	large := parseAllBytes(t, data, 1<<16, quote)
	if small.err != nil || large.err != nil {
		var ce *CSVError
		if (small.err != nil && !errors.As(small.err, &ce)) || (large.err != nil && !errors.As(large.err, &ce)) {
			t.Fatalf("not a CSVError: %v / %v", small.err, large.err)
		}
		return
	}
	if len(small.recs) != len(large.recs) {
		t.Fatalf("buffer size changed the records: %d vs %d", len(small.recs), len(large.recs))
	}
	for i := range small.recs {
		if !equalRec(small.recs[i], large.recs[i]) {
			t.Fatalf("record %d differs by buffer size: %q vs %q", i, small.recs[i], large.recs[i])
		}
	}
}

type parsed struct {
	recs [][]string
	err  error
}

func parseAllBytes(t *testing.T, in []byte, bufSize int, quote byte) parsed {
	p := newParser(bytes.NewReader(in), 0, int64(len(in)), ',', 1, bufSize).withQuote(quote)
	var out parsed
	last := int64(0)
	for i := 0; i <= len(in)+1; i++ {
		fs, line, err := p.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out.err = err
			return out
		}
		if line < last {
			t.Fatalf("line went backwards: %d after %d", line, last)
		}
		last = line
		rec := make([]string, len(fs))
		for j, f := range fs {
			rec[j] = string(p.value(f))
		}
		out.recs = append(out.recs, rec)
	}
	t.Fatalf("more records than bytes: the parser loops")
	return out
}

func equalRec(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
