package query

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Scalar functions whose result size is set by their arguments are the
// one way a few bytes of SQL make DuckDB allocate without bound:
// `SELECT range(40000000)` is 29 bytes and builds a 40-million-element
// LIST value, `printf('%2000000000d', 1)` a 2 GB string inside fmt. These
// values live outside DuckDB's memory_limit (vectors and fmt's buffers
// are not buffer-managed) and are built inside one function call, which
// the query timeout cannot interrupt. The table-function forms
// (`FROM range(n)`, `generate_series`) stream in chunks and are not
// affected. So the parse gate bounds every such call from the parse tree
// (builders.go): sizes must be integer constants, formats string
// constants, and the sizes they set stay within the caps below.

// A call whose arguments are all constants is folded: DuckDB builds its
// value once per statement, so it gets the whole cap. A call with any
// other argument (a column, an expression) runs once per row, and DuckDB
// evaluates a vector of up to duckVectorRows rows at once, so the value
// exists that many times over: per row it gets the cap divided by that.
//
// maxBuiltListElements caps list elements: one costs DuckDB 8 bytes and
// the driver about 100 more when it reaches Go (each is boxed), so 2
// million stay near 200 MB; per row that is 976 elements, which is also
// what a 2048-row vector of them costs. maxBuiltStringBytes caps string
// bytes (repeat, lpad, rpad, printf, format, bitstring): 64 MiB folded,
// 32 KiB per row. Both caps hold for the statement as a whole: the sizes
// of all its calls are added up, each per-row size counted
// duckVectorRows times, because those values all exist at once.
const (
	maxBuiltListElements = 2_000_000
	maxBuiltStringBytes  = 64 << 20
	duckVectorRows       = 2048
	maxRowListElements   = maxBuiltListElements / duckVectorRows
	maxRowStringBytes    = maxBuiltStringBytes / duckVectorRows
	maxBuilderCalls      = 1000
)

// builderNames are the scalar functions whose result size is set by an
// argument: lists (range, generate_series, list_resize and its alias
// array_resize; repeat of a list) and strings (repeat, lpad, rpad,
// printf, format, bitstring). duckdb_functions() lists no other alias
// of them.
var builderNames = []string{"range", "generate_series", "list_resize", "array_resize",
	"repeat", "lpad", "rpad", "printf", "format", "bitstring"}

// builderHeaderPattern matches the head of every builder call in
// json_serialize_sql's tree, prefixed by `"function":` when it is a table
// function (FROM range(n)). DuckDB uses it to find whether there is any
// (then the tree from the first one on comes to Go, see parseSQL), and
// Go to find each call's offset in that text.
var builderHeaderPattern = `(?:"function":)?\{"class":"FUNCTION","type":"FUNCTION","alias":"(?:[^"\\]|\\.)*","query_location":\d+,"function_name":"(?:` +
	strings.Join(builderNames, "|") + `)","schema":"(?:[^"\\]|\\.)*",`

var builderHeaderRe = regexp.MustCompile(`^` + builderHeaderPattern)

// headKeyRe reads a head's location and name (see callKey), so that a
// call nested in one already bounded is skipped before being decoded:
// deeply nested calls then cost linear time, not quadratic.
var headKeyRe = regexp.MustCompile(`^\{"class":"FUNCTION","type":"FUNCTION","alias":"(?:[^"\\]|\\.)*","query_location":(\d+),"function_name":"([a-z_]+)"`)

// builderHeads returns the offsets of the scalar builder calls in tail,
// in tree order (an enclosing call before the calls in its arguments).
// The tree can be several MB (long IN lists), so function names are found
// with a plain string search and only their heads are matched.
func builderHeads(tail string) []int {
	const name, open = `,"function_name":"`, `{"class":"FUNCTION","type":"FUNCTION","alias":"`
	var out []int
	for pos := 0; ; {
		i := strings.Index(tail[pos:], name)
		if i < 0 {
			return out
		}
		i += pos
		pos = i + len(name)
		end := strings.IndexByte(tail[pos:], '"')
		if end < 0 || !isBuilder(tail[pos:pos+end]) {
			continue
		}
		start := strings.LastIndex(tail[:i], open)
		if start < 0 || !builderHeaderRe.MatchString(tail[start:]) {
			continue
		}
		if strings.HasSuffix(tail[:start], `"function":`) {
			continue // a table function: streamed
		}
		out = append(out, start)
	}
}

// ListBombError refuses a size-taking scalar call whose size is computed
// or too big (400 unbounded_value).
type ListBombError struct {
	Function string
	Reason   string
	// Hint says what to do instead; empty for the default (stream with
	// the table function, or use smaller constants).
	Hint string
	// Limit is the cap that applied, in Unit ("bytes" or "elements").
	Limit int64
	Unit  string
}

// Error implements error.
func (e *ListBombError) Error() string {
	hint := e.Hint
	if hint == "" {
		switch e.Function {
		case "range", "generate_series":
			hint = "use the table function instead, e.g. SELECT * FROM range(n), which streams"
		case "printf", "format":
			hint = fmt.Sprintf("the widths and precisions in the format must add up to at most %d", maxBuiltStringBytes)
		case "bitstring":
			hint = fmt.Sprintf("the length must be an integer constant of at most %d bits", int64(maxBuiltStringBytes)*8)
		default:
			hint = fmt.Sprintf("sizes must be integer constants of at most %d", maxBuiltStringBytes)
			if e.Unit == "elements" {
				hint = fmt.Sprintf("sizes must be integer constants of at most %d", maxBuiltListElements)
			}
		}
	}
	return fmt.Sprintf("scalar %s() %s: it would build values in memory without bound; %s", e.Function, e.Reason, hint)
}

// checkBuilders bounds the size-taking calls of one statement. tail is
// the serialized tree from the first builder head on ("" when there is
// none); calls is how many heads DuckDB found (capped at
// maxBuilderCalls+1).
func checkBuilders(tail string, calls int) error {
	if calls > maxBuilderCalls {
		return &ListBombError{Function: "range", Reason: fmt.Sprintf("and other size-taking functions called more than %d times", maxBuilderCalls)}
	}
	if tail == "" {
		return nil
	}
	g := newSizeGate()
	for _, start := range builderHeads(tail) {
		if m := headKeyRe.FindStringSubmatch(tail[start:]); m != nil && g.seen[m[2]+"@"+m[1]] {
			continue // already bounded as part of an enclosing call
		}
		dec := json.NewDecoder(strings.NewReader(tail[start:]))
		dec.UseNumber()
		var call map[string]any
		if err := dec.Decode(&call); err != nil {
			return fmt.Errorf("query: parse tree at a size-taking call: %w", err)
		}
		g.expr(call)
		if g.err != nil {
			return g.err
		}
	}
	return nil
}
