package ingest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

func TestSniffDialect(t *testing.T) {
	for _, c := range []struct {
		name, csv string
		delim     byte
		quote     byte
	}{
		{"comma", "a,b\n1,2\n", ',', '"'},
		{"semicolon with decimal commas", "name;amount\nAda;1,5\nBob;2,25\n", ';', '"'},
		{"semicolon, commas in text", "name;city\nDoe, John;Paris\nRoe, Jane;Rome\n", ';', '"'},
		{"tab", "a\tb\tc\n1\t2\t3\n", '\t', '"'},
		{"pipe", "a|b\n1|x,y\n", '|', '"'},
		{"quoted delimiter", "a;b\n\"x;y\";1\n", ';', '"'},
		{"quoted newline", "a,b\n\"x\ny\",1\n2,3\n", ',', '"'},
		{"single quotes", "a,b\n'x,y',1\n'z',2\n", ',', '\''},
		{"bare quote", "a,b\n5\" tv,1\n", ',', 0},
		{"apostrophe and inches", "a,b\nO'Brien,5\"\n", ',', 0},
		{"malformed quoted field kept quoted", "a,b\n\"x\"y,1\n", ',', '"'},
		{"one column", "name\nAda\nBob\n", ',', '"'},
		{"one column holding commas unevenly", "name\na,b\nc\n", ',', '"'},
		{"most fields win", "a;b,c;d\n1;2,3;4\n", ';', '"'},
		{"ragged under comma", "a;b;c\n1,5;2;3\n2;3,5;4\n", ';', '"'},
		{"CRLF", "a;b\r\n1;2\r\n", ';', '"'},
		{"invalid UTF-8 does not matter", "n\xe9;b\n\xff;2\n", ';', '"'},
	} {
		b := []byte(c.csv)
		d, q := sniffDialect(bytes.NewReader(b), 0, int64(len(b)), 0, 0, false)
		if d != c.delim || q != c.quote {
			t.Errorf("%s: got %q %q, want %q %q", c.name, d, q, c.delim, c.quote)
		}
	}
	// Given halves are kept.
	b := []byte("a;b\n'x;y';1\n")
	if d, q := sniffDialect(bytes.NewReader(b), 0, int64(len(b)), ';', 0, false); d != ';' || q != '\'' {
		t.Errorf("delimiter given: %q %q", d, q)
	}
	b2 := []byte("a;b\n\"x;y\";1\n")
	if d, q := sniffDialect(bytes.NewReader(b2), 0, int64(len(b2)), 0, '"', true); d != ';' || q != '"' {
		t.Errorf("quote given: %q %q", d, q)
	}
	if d, q := sniffDialect(bytes.NewReader(b2), 0, int64(len(b2)), 0, 0, true); d != ',' || q != 0 {
		t.Errorf("quote=none given, nothing viable: %q %q", d, q)
	}
	// A sample window that ends inside a multi-line quoted field does not
	// count against the dialect.
	var big strings.Builder
	big.WriteString("a;b\n")
	for big.Len() < sniffWindow+1000 {
		big.WriteString("\"line one\nline two; still quoted\";2\n")
	}
	b = []byte(big.String())
	if d, q := sniffDialect(bytes.NewReader(b), 0, int64(len(b)), 0, 0, false); d != ';' || q != '"' {
		t.Errorf("cut window: %q %q", d, q)
	}
}

func TestParseEncodingNames(t *testing.T) {
	for in, want := range map[string]string{"UTF-8": "utf-8", "utf8": "utf-8", "UTF_16LE": "utf-16le", "utf-16": "utf-16",
		"cp1252": "windows-1252", "Windows-1252": "windows-1252", "ISO-8859-1": "latin-1", "latin1": "latin-1", "": ""} {
		if got, err := parseEncoding(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := parseEncoding("shift-jis"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("unknown: %v", err)
	}
}

// The Windows-1252 table agrees with golang.org/x/text on every byte but
// the five Windows-1252 leaves undefined, which x/text turns into U+FFFD
// and we keep as the C1 control of the same value (as WHATWG does).
func TestWindows1252Table(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var got bytes.Buffer
	if err := transcode(&got, bytes.NewReader(all), encWindows1252, nil); err != nil {
		t.Fatal(err)
	}
	want, err := charmap.Windows1252.NewDecoder().Bytes(all)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gr, wr := []rune(got.String()), []rune(string(want))
		for i := range gr {
			undefined := i == 0x81 || i == 0x8d || i == 0x8f || i == 0x90 || i == 0x9d
			if undefined && gr[i] == rune(i) && wr[i] == utf8.RuneError {
				continue
			}
			if i < len(wr) && gr[i] != wr[i] {
				t.Errorf("byte 0x%02x: %U, x/text %U", i, gr[i], wr[i])
			}
		}
	}
	got.Reset()
	if err := transcode(&got, bytes.NewReader(all), encLatin1, nil); err != nil {
		t.Fatal(err)
	}
	for i, r := range []rune(got.String()) {
		if r != rune(i) {
			t.Fatalf("latin-1 byte 0x%02x: %U", i, r)
		}
	}
}

// The parallel UTF-8 check sees characters cut by its block boundaries
// whole, and bad bytes anywhere.
func TestValidUTF8AcrossBlocks(t *testing.T) {
	base := bytes.Repeat([]byte{'a'}, 2*utf8Block+100)
	for _, off := range []int{utf8Block - 3, utf8Block - 2, utf8Block - 1, utf8Block, 2*utf8Block - 1} {
		b := append([]byte(nil), base...)
		copy(b[off:], "😀") // 4 bytes across the boundary
		if ok, err := validUTF8(bytes.NewReader(b), int64(len(b)), 3); !ok || err != nil {
			t.Fatalf("valid character at %d: %v %v", off, ok, err)
		}
		b[off+3] = 'x' // cut the character short
		if ok, _ := validUTF8(bytes.NewReader(b), int64(len(b)), 3); ok {
			t.Fatalf("cut character at %d passed", off)
		}
	}
	b := append([]byte(nil), base...)
	b[utf8Block] = 0x80 // a lone continuation byte starting a block
	if ok, _ := validUTF8(bytes.NewReader(b), int64(len(b)), 2); ok {
		t.Fatal("continuation byte at a block start passed")
	}
	b = append(append([]byte(nil), base...), 0xe9)
	if ok, _ := validUTF8(bytes.NewReader(b), int64(len(b)), 2); ok {
		t.Fatal("a truncated last character passed")
	}
	// hasMultibyteUTF8 finds a character cut by its 1 MiB reads.
	b = bytes.Repeat([]byte{0xe9}, 3<<20)
	if m, _ := hasMultibyteUTF8(bytes.NewReader(b), int64(len(b))); m {
		t.Fatal("latin bytes taken for UTF-8")
	}
	copy(b[1<<20-1:], "é")
	if m, _ := hasMultibyteUTF8(bytes.NewReader(b), int64(len(b))); !m {
		t.Fatal("missed a UTF-8 character across a read")
	}
}

// UTF-16 decoding keeps surrogate pairs split across reads together.
func TestTranscodeUTF16AcrossReads(t *testing.T) {
	var want strings.Builder
	want.WriteString("id,v\n")
	for want.Len() < 3<<20 {
		want.WriteString("1,😀 Zoë 東京\n")
	}
	units := utf16.Encode([]rune(want.String()))
	for _, be := range []bool{false, true} {
		var in bytes.Buffer
		for _, u := range units {
			if be {
				in.Write([]byte{byte(u >> 8), byte(u)})
			} else {
				in.Write([]byte{byte(u), byte(u >> 8)})
			}
		}
		enc := encUTF16LE
		if be {
			enc = encUTF16BE
		}
		var got bytes.Buffer
		if err := transcode(&got, &in, enc, nil); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("be=%v: output differs (%d vs %d bytes)", be, got.Len(), want.Len())
		}
	}
	var out bytes.Buffer
	err := transcode(&out, bytes.NewReader([]byte{'a', 0, '\n', 0, 'b'}), encUTF16LE, nil)
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Fatalf("odd length: %v", err)
	}
}

func TestChooseEncoding(t *testing.T) {
	for _, c := range []struct {
		in, given, name string
		detected, bom   bool
		err             bool
	}{
		{"a,b\n", "", "utf-8", true, false, false},
		{"\xEF\xBB\xBFa\n", "", "utf-8", true, true, false},
		{"\xFF\xFEa\x00", "", "utf-16le", true, true, false},
		{"\xFE\xFF\x00a", "", "utf-16be", true, true, false},
		{"caf\xe9\n", "", "windows-1252", true, false, false},
		{"a\x00,\x00b\x00\n\x001\x00,\x00\xe9\x00\n\x00", "", "utf-16le", true, false, false},
		{"\x00a\x00,\x00b\x00\n\x001\x00,\x00\xe9\x00\n", "", "utf-16be", true, false, false},
		{"a,\x00\n1,2\n", "", "utf-8", true, false, false},         // a NUL or two is not UTF-16
		{"caf\xc3\xa9 caf\xe9\n", "", "utf-8", true, false, false}, // a mix: the parse reports the bad byte
		{"caf\xe9\n", "utf-8", "utf-8", false, false, false},
		{"a\n", "latin-1", "latin-1", false, false, false},
		{"\xFF\xFEa\x00", "utf-16", "utf-16le", false, true, false},
		{"a\x00", "utf-16be", "utf-16be", false, false, false},
		{"\xFF\xFEa\x00", "utf-16be", "", false, false, true},
		{"\xFF\xFEa\x00", "utf-8", "", false, false, true},
		{"\xEF\xBB\xBFa", "windows-1252", "", false, false, true},
	} {
		b := []byte(c.in)
		got, err := chooseEncoding(bytes.NewReader(b), int64(len(b)), c.given, 2)
		if (err != nil) != c.err || (err == nil && (got.name != c.name || got.detected != c.detected || got.bom != c.bom)) {
			t.Errorf("%q given %q: %+v %v", c.in, c.given, got, err)
		}
	}
}

func TestDateLayouts(t *testing.T) {
	mdy, dmy, dot, ymd := builtinStyles[1], builtinStyles[2], builtinStyles[3], builtinStyles[4]
	day := func(y, m, d int) int64 { return daysFromCivil(y, m, d) }
	for _, c := range []struct {
		st   *dateStyle
		in   string
		kind kind
		want int64 // days for a date, microseconds for a timestamp
	}{
		{mdy, "12/31/2025", kDate, day(2025, 12, 31)},
		{mdy, "1/5/2025", kDate, day(2025, 1, 5)},
		{mdy, "13/01/2025", kString, 0},
		{mdy, "02/29/2023", kString, 0},
		{mdy, "02/29/2024", kDate, day(2024, 2, 29)},
		{mdy, "12/31/25", kString, 0},
		{mdy, "12/31/2025 13:45", kTimestamp, day(2025, 12, 31)*86400e6 + (13*3600+45*60)*1e6},
		{mdy, "12/31/2025 1:45:07 pm", kTimestamp, day(2025, 12, 31)*86400e6 + (13*3600+45*60+7)*1e6},
		{mdy, "12/31/2025 12:00 AM", kTimestamp, day(2025, 12, 31) * 86400e6},
		{mdy, "12/31/2025T08:00:00.25", kTimestamp, day(2025, 12, 31)*86400e6 + 8*3600e6 + 250000},
		{mdy, "12/31/2025 13:45 PM", kString, 0},
		{mdy, "12/31/2025 24:00", kString, 0},
		{mdy, "12/31/2025 ", kString, 0},
		{dmy, "13/01/2025", kDate, day(2025, 1, 13)},
		{dmy, "31/04/2025", kString, 0},
		{dot, "31.12.2025", kDate, day(2025, 12, 31)},
		{dot, "1.2.2025 7:08", kTimestamp, day(2025, 2, 1)*86400e6 + (7*3600+8*60)*1e6},
		{ymd, "2025/12/31", kDate, day(2025, 12, 31)},
		{isoStyle, "2025-12-31", kDate, day(2025, 12, 31)},
		{isoStyle, "12/31/2025", kString, 0},
	} {
		k := c.st.classify([]byte(c.in))
		if k != c.kind {
			t.Errorf("%s %q: kind %v want %v", c.st.name, c.in, k, c.kind)
			continue
		}
		switch k {
		case kDate:
			if d, _ := c.st.parseDate([]byte(c.in)); int64(d) != c.want {
				t.Errorf("%s %q: %d want %d", c.st.name, c.in, d, c.want)
			}
		case kTimestamp:
			if us, _ := c.st.parseTimestamp([]byte(c.in)); us != c.want {
				t.Errorf("%s %q: %d want %d", c.st.name, c.in, us, c.want)
			}
		}
	}
	// Custom layouts.
	st, err := dateStyles("", "%Y%m%d %H%M%S%z")
	if err != nil {
		t.Fatal(err)
	}
	if us, ok := st[0].parseTimestamp([]byte("20250102 030405+0100")); !ok || us != day(2025, 1, 2)*86400e6+(2*3600+4*60+5)*1e6 {
		t.Errorf("compact: %d %v", us, ok)
	}
	if d, ok := st[0].parseDate([]byte("20250102")); !ok || int64(d) != day(2025, 1, 2) {
		t.Errorf("date part of a timestamp layout: %d %v", d, ok)
	}
	st, _ = dateStyles("%a, %d %B %y", "")
	if d, ok := st[0].parseDate([]byte("Fri, 31 December 99")); !ok || int64(d) != day(1999, 12, 31) {
		t.Errorf("names and %%y: %d %v", d, ok)
	}
	for _, bad := range []string{"%Q", "%d/%m", "%Y-%m-%d %H", "100%"} {
		if _, err := dateStyles(bad, ""); err == nil {
			t.Errorf("dateformat %q accepted", bad)
		}
	}
}

// colInfer joins values per style; resolve picks the first style that
// reads them all, month-first over day-first when both do.
func TestColInferResolve(t *testing.T) {
	infer := func(vals ...string) colInfer {
		var c colInfer
		for _, v := range vals {
			c.observe([]byte(v), builtinStyles)
		}
		return c
	}
	for _, c := range []struct {
		vals      []string
		pref      byte
		kind      kind
		style     string
		ambiguous bool
	}{
		{[]string{"12/31/2025", "1/2/2025"}, 'm', kDate, "mdy", false},
		{[]string{"01/02/2025", "03/04/2025"}, 'm', kDate, "mdy", true},
		{[]string{"01/02/2025", "03/04/2025"}, 'd', kDate, "dmy", true},
		{[]string{"13/02/2025", "03/04/2025"}, 'm', kDate, "dmy", false},
		{[]string{"13/02/2025", "02/13/2025"}, 'm', kString, "", false},
		{[]string{"2025-01-02", "01/02/2025"}, 'm', kString, "", false},
		{[]string{"01/02/2025", "01/02/2025 10:00"}, 'm', kTimestamp, "mdy", true},
		{[]string{"2025-01-02", "2025-01-02T10:00:00Z"}, 'm', kTimestamp, "iso", false},
		{[]string{"12", "01/02/2025"}, 'm', kString, "", false},
		{[]string{"31.12.2025"}, 'm', kDate, "dmy_dot", false},
	} {
		ci := infer(c.vals...)
		k, s, amb := ci.resolve(builtinStyles, c.pref, kNull)
		name := ""
		if s >= 0 {
			name = builtinStyles[s].name
		}
		if k != c.kind || name != c.style || amb != c.ambiguous {
			t.Errorf("%q pref %c: %v %q %v, want %v %q %v", c.vals, c.pref, k, name, amb, c.kind, c.style, c.ambiguous)
		}
	}
	// An append floor: a column with no values takes the existing type
	// and reads ISO until a value says otherwise.
	var empty colInfer
	if k, s, _ := empty.resolve(builtinStyles, 'm', kDate); k != kDate || builtinStyles[s] != isoStyle {
		t.Errorf("floor: %v %d", k, s)
	}
}

// The sniffer and the transcoders on arbitrary input: no panic, a
// candidate dialect, UTF-8 out of every transcoder (or a CSVError).
func FuzzDialectAndEncoding(f *testing.F) {
	for _, s := range []string{"a;b\n1;2\n", "a|b\n'x|y'|2\n", "\xff\xfea\x00;\x00b\x00\n\x00", "caf\xe9;x\n\x93q\x94;2\n",
		"a\tb\n5\" tv\t1\n", "d\n12/31/2025\n13/01/2025\n", "\xef\xbb\xbf\"a\";\"b\"\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		d, q := sniffDialect(r, 0, int64(len(data)), 0, 0, false)
		if bytes.IndexByte(candidates, d) < 0 || (q != 0 && q != '"' && q != '\'') || q == d {
			t.Fatalf("dialect %q %q", d, q)
		}
		p := newParser(r, 0, int64(len(data)), d, 1, 64).withQuote(q)
		for i := 0; i <= len(data); i++ {
			fs, _, err := p.next()
			if err != nil {
				break
			}
			for _, fl := range fs {
				v := p.value(fl)
				for _, st := range builtinStyles {
					st.classify(v)
				}
			}
		}
		for _, enc := range []string{encWindows1252, encLatin1, encUTF16LE, encUTF16BE} {
			var out bytes.Buffer
			err := transcode(&out, bytes.NewReader(data), enc, nil)
			var ce *CSVError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%s: %v", enc, err)
			}
			if err == nil && !utf8.Valid(out.Bytes()) {
				t.Fatalf("%s: output not UTF-8", enc)
			}
		}
		if _, err := chooseEncoding(r, int64(len(data)), "", 2); err != nil && err != io.EOF {
			t.Fatalf("choose: %v", err)
		}
	})
}
