package query

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// Scalar list and string builders are the one way a few bytes of SQL make
// DuckDB allocate without bound: `SELECT range(40000000)` is 29 bytes and
// builds a 40-million-element LIST value outside DuckDB's memory_limit (a
// single function call, which the query timeout cannot interrupt either),
// and the driver then boxes every element into Go. The table-function
// forms (`FROM range(n)`, `generate_series`) stream in chunks and are not
// affected. So the parse gate lets a scalar builder through only when
// its size arguments are integer constants within the cap; anything
// computed is refused with a message that shows the streaming form.

// maxBuiltListElements caps a constant scalar range()/generate_series()
// or list_resize(); maxBuiltStringBytes caps repeat()/lpad()/rpad(). A
// list element costs DuckDB 8 bytes and the driver about 100 more (Go
// boxes each one), so 2 million elements stay near 200 MB.
const (
	maxBuiltListElements = 2_000_000
	maxBuiltStringBytes  = 64 << 20
	maxBuilderCalls      = 1000
)

// listBuilders are the scalar functions whose result size is set by an
// argument: lists (range, generate_series, list_resize, array_resize) and
// strings (repeat, lpad, rpad).
var listBuilders = map[string]bool{
	"range": true, "generate_series": true, "list_resize": true, "array_resize": true,
	"repeat": true, "lpad": true, "rpad": true,
}

// builderHeaderPattern matches the head of every builder call in
// json_serialize_sql's tree, prefixed by `"function":` when it is a table
// function (FROM range(n)). The gate pairs each head with the next 2000
// bytes of the tree (its arguments): heads are found and the tree split at
// them, so calls that follow each other are each seen whole.
const builderHeaderPattern = `(?:"function":)?\{"class":"FUNCTION","type":"FUNCTION","alias":"(?:[^"\\]|\\.)*","query_location":\d+,"function_name":"(?:range|generate_series|list_resize|array_resize|repeat|lpad|rpad)","schema":"(?:[^"\\]|\\.)*",`

var builderNameRe = regexp.MustCompile(`"function_name":"([a-z_]+)"`)

// callArgs decodes the arguments of one extracted call: an integer
// constant becomes its value, anything else (a column, an expression, an
// argument cut off by the extraction window) nil.
func callArgs(call string) []*big.Int {
	i := strings.Index(call, `"children":`)
	if i < 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(call[i+len(`"children":`):]))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil
	}
	var args []*big.Int
	for dec.More() {
		var arg struct {
			Class string `json:"class"`
			Value struct {
				IsNull bool            `json:"is_null"`
				Value  json.RawMessage `json:"value"`
			} `json:"value"`
		}
		if err := dec.Decode(&arg); err != nil {
			return append(args, nil) // cut off by the window: unknown
		}
		n, ok := new(big.Int).SetString(string(arg.Value.Value), 10)
		if arg.Class != "CONSTANT" || arg.Value.IsNull || !ok {
			n = nil
		}
		args = append(args, n)
	}
	return args
}

// ListBombError refuses a scalar builder whose size is computed or too big.
type ListBombError struct {
	Function string
	Reason   string
}

// Error implements error.
func (e *ListBombError) Error() string {
	hint := "use the table function instead, e.g. SELECT * FROM range(n), which streams"
	switch e.Function {
	case "repeat", "lpad", "rpad":
		hint = fmt.Sprintf("sizes must be integer constants of at most %d", maxBuiltStringBytes)
	case "list_resize", "array_resize":
		hint = fmt.Sprintf("sizes must be integer constants of at most %d", maxBuiltListElements)
	}
	return fmt.Sprintf("scalar %s() %s: it would build one value in memory without bound; %s", e.Function, e.Reason, hint)
}

// checkBuilders inspects the extracted builder calls.
func checkBuilders(calls []string) error {
	if len(calls) > maxBuilderCalls {
		return &ListBombError{Function: "range", Reason: fmt.Sprintf("and other size-taking functions called more than %d times", maxBuilderCalls)}
	}
	for _, call := range calls {
		if strings.HasPrefix(call, `"function":`) {
			continue // a table function: streamed
		}
		m := builderNameRe.FindStringSubmatch(call)
		if m == nil || !listBuilders[m[1]] {
			continue
		}
		if err := builderSize(m[1], callArgs(call)); err != nil {
			return err
		}
	}
	return nil
}

// builderSize checks the size a builder call would produce from its
// leading arguments (nil = not an integer constant). Arguments past the
// serialized window count as unknown.
func builderSize(name string, args []*big.Int) error {
	limit := big.NewInt(maxBuiltListElements)
	need := func(i int) (*big.Int, error) {
		if i >= len(args) || args[i] == nil {
			return nil, &ListBombError{Function: name, Reason: "with a computed size"}
		}
		return args[i], nil
	}
	switch name {
	case "range", "generate_series":
		if len(args) == 0 {
			return &ListBombError{Function: name, Reason: "with a computed size"}
		}
		if len(args) == 1 {
			n, err := need(0)
			if err != nil {
				return err
			}
			if n.Cmp(limit) > 0 {
				return &ListBombError{Function: name, Reason: fmt.Sprintf("of %s elements (more than %d)", n, maxBuiltListElements)}
			}
			return nil
		}
		start, err := need(0)
		if err != nil {
			return err
		}
		stop, err := need(1)
		if err != nil {
			return err
		}
		step := big.NewInt(1)
		if len(args) > 2 {
			if step, err = need(2); err != nil {
				return err
			}
		}
		if step.Sign() == 0 {
			return nil // DuckDB refuses a zero step itself
		}
		span := new(big.Int).Sub(stop, start)
		count := new(big.Int).Quo(span, step)
		if count.Sign() > 0 && count.Cmp(limit) > 0 {
			return &ListBombError{Function: name, Reason: fmt.Sprintf("of about %s elements (more than %d)", count, maxBuiltListElements)}
		}
		return nil
	default: // repeat(s, n), lpad/rpad(s, n, c), list_resize(l, n[, v])
		n, err := need(1)
		if err != nil {
			return err
		}
		if name == "repeat" || name == "lpad" || name == "rpad" {
			limit = big.NewInt(maxBuiltStringBytes)
		}
		if n.Cmp(limit) > 0 {
			return &ListBombError{Function: name, Reason: fmt.Sprintf("to a size of %s (more than %s)", n, limit)}
		}
		return nil
	}
}
