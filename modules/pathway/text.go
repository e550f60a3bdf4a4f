package pathway

import (
	"bytes"
	"encoding/json"
	"lakehouse/modules/vector/bm25"
	"sort"
	"strings"
)

// maxTextBytes bounds the text derived from one trace for ranking and
// embedding; a 4 MiB content blob is searchable by its beginning.
const maxTextBytes = 32 << 10

// traceText is the searchable text of a trace: its kind, tags and the
// strings, numbers and keys of its content, as "key: value" lines so an
// embedder sees something close to prose.
func traceText(t *Trace) string {
	var b strings.Builder
	if t.Kind != "" {
		b.WriteString(t.Kind)
		b.WriteByte('\n')
	}
	if len(t.Tags) > 0 {
		b.WriteString(strings.Join(t.Tags, " "))
		b.WriteByte('\n')
	}
	dec := json.NewDecoder(bytes.NewReader(t.Content))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		writeText(&b, "", v)
	}
	s := b.String()
	if len(s) > maxTextBytes {
		s = strings.ToValidUTF8(s[:maxTextBytes], "")
	}
	return strings.TrimSpace(s)
}

func writeText(b *strings.Builder, key string, v any) {
	if b.Len() > maxTextBytes {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			writeText(b, k, x[k])
		}
	case []any:
		for _, e := range x {
			writeText(b, key, e)
		}
	case string:
		writeLine(b, key, x)
	case json.Number:
		writeLine(b, key, x.String())
	case bool:
		if x {
			writeLine(b, key, "true")
		} else {
			writeLine(b, key, "false")
		}
	}
}

func writeLine(b *strings.Builder, key, val string) {
	if room := maxTextBytes + 1 - b.Len(); len(val) > room {
		val = val[:max(room, 0)] // the caller trims to maxTextBytes and valid UTF-8
	}
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(val)
	b.WriteByte('\n')
}

// tokenize is the vector indexes' tokeniser (bm25.Tokenize): the same
// text yields the same terms in a trace search as in a keyword search
// (codes such as EPA-608 kept whole and in pieces, stopwords dropped).
func tokenize(s string) []string { return bm25.Tokenize(s) }
