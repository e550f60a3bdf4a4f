package ingest

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// parseAll parses a whole input with a deliberately tiny buffer so records
// straddle refills.
func parseAll(t *testing.T, in string, bufSize int) ([][]string, []int64, error) {
	t.Helper()
	r := bytes.NewReader([]byte(in))
	p := newParser(r, 0, int64(len(in)), ',', 1, bufSize)
	var out [][]string
	var lines []int64
	for {
		fs, line, err := p.next()
		if err == io.EOF {
			return out, lines, nil
		}
		if err != nil {
			return out, lines, err
		}
		rec := make([]string, len(fs))
		for i, f := range fs {
			rec[i] = string(p.value(f))
		}
		out = append(out, rec)
		lines = append(lines, line)
	}
}

func TestParserRecordsAndLines(t *testing.T) {
	in := "a,b\r\n\"x,1\",\"multi\nline\"\n\n\"he said \"\"hi\"\"\",\nlast,\"q\""
	want := [][]string{{"a", "b"}, {"x,1", "multi\nline"}, {"he said \"hi\"", ""}, {"last", "q"}}
	wantLines := []int64{1, 2, 5, 6}
	for _, size := range []int{3, 7, 64, 4096} {
		got, lines, err := parseAll(t, in, size)
		if err != nil {
			t.Fatalf("buf %d: %v", size, err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(lines, wantLines) {
			t.Fatalf("buf %d:\n%q %v\nwant\n%q %v", size, got, lines, want, wantLines)
		}
	}
}

func TestParserErrors(t *testing.T) {
	for _, c := range []struct {
		in        string
		line      int64
		col       int
		msgSubstr string
	}{
		{"a,b\n1,\"open\n2,3\n", 2, 2, "unterminated"},
		{"a,b\n1,x\"y\n", 2, 2, "quote inside an unquoted"},
		{"a,b\n1,\"x\"y\n", 2, 2, "after a closing quote"},
		{"a,b\n\"l1\nl2\",\"ok\nx\xff\"\n", 4, 2, "invalid UTF-8"},
	} {
		for _, size := range []int{5, 4096} {
			_, _, err := parseAll(t, c.in, size)
			var ce *CSVError
			if !errors.As(err, &ce) || ce.Line != c.line || ce.Column != c.col || !strings.Contains(ce.Msg, c.msgSubstr) {
				t.Fatalf("%q (buf %d): %v, want line %d col %d %q", c.in, size, err, c.line, c.col, c.msgSubstr)
			}
		}
	}
}

func TestSplitSpansAtRecordBoundaries(t *testing.T) {
	csv := bigCSV(3000)
	r := strings.NewReader(csv)
	hdr := int64(strings.Index(csv, "\n") + 1)
	spans, err := splitSpans(r, hdr, int64(len(csv)), 2, 997, '"', 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) < 50 {
		t.Fatalf("%d spans", len(spans))
	}
	total := 0
	for i, sp := range spans {
		if i > 0 && sp.start != spans[i-1].end {
			t.Fatalf("gap between spans %d and %d", i-1, i)
		}
		// Each span starts a record: "<id>,\"row <id>\n..." on its line.
		p := newParser(r, sp.start, sp.end, ',', sp.line, 4096)
		for {
			fs, line, err := p.next()
			if err == io.EOF {
				break
			}
			if err != nil || len(fs) != 3 {
				t.Fatalf("span %d: %v (%d fields)", i, err, len(fs))
			}
			total++
			if want := int64(2 + 3*(total-1)); line != want {
				t.Fatalf("record %d on line %d, want %d", total, line, want)
			}
		}
	}
	if total != 3000 {
		t.Fatalf("%d records", total)
	}
}
