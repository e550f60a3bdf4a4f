package query

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"
)

// size is what the gate knows of an expression's value: an upper bound
// on its bytes (strings; 1 when unknown, e.g. a column, whose data
// already exists), its list elements when it is visibly a list, and
// whether it is a constant DuckDB folds before execution.
type size struct {
	bytes    int64
	elems    int64
	list     bool
	constant bool
	text     *string // the value of a string constant
	integer  *int64  // the value of an integer constant (saturated)
}

// sizeGate walks builder calls in json_serialize_sql's tree and adds up
// what they build (see listbomb.go for the caps).
type sizeGate struct {
	seen                  map[string]bool // builder calls already bounded
	foldedBytes, rowBytes int64
	foldedElems, rowElems int64
	err                   error
}

func newSizeGate() *sizeGate { return &sizeGate{seen: map[string]bool{}} }

// callKey names one builder call; calls the parser made up (no query
// location) get no key, so they are bounded again wherever found (they
// then count twice, which errs on the safe side).
func callKey(call map[string]any) string {
	loc, _ := call["query_location"].(json.Number)
	if loc == "" || loc == "18446744073709551615" {
		return ""
	}
	name, _ := call["function_name"].(string)
	return name + "@" + string(loc)
}

// isBuilder reports whether name is a size-taking scalar function.
func isBuilder(name string) bool {
	for _, b := range builderNames {
		if b == name {
			return true
		}
	}
	return false
}

// expr bounds one expression node (a JSON object with a "class") and
// every builder call inside it.
func (g *sizeGate) expr(n map[string]any) size {
	if g.err != nil {
		return size{bytes: 1}
	}
	class, _ := n["class"].(string)
	switch class {
	case "CONSTANT":
		return constantSize(n)
	case "CAST":
		child, _ := n["child"].(map[string]any)
		s := g.expr(child)
		s.integer = castInteger(s)
		s.text = nil
		if ct, ok := n["cast_type"].(map[string]any); ok {
			if id, _ := ct["id"].(string); id == "LIST" || id == "ARRAY" {
				s.list = true
				s.elems = max(s.elems, s.bytes/2) // "[1,2]": at most one element per 2 bytes
			}
		}
		return s
	case "FUNCTION":
		name, _ := n["function_name"].(string)
		args := g.args(n)
		if isBuilder(name) {
			if key := callKey(n); key != "" {
				g.seen[key] = true
			}
			return g.builder(name, args)
		}
		out := size{bytes: 1}
		for _, a := range args {
			out.bytes = satAdd(out.bytes, a.bytes)
		}
		if name == "list_value" || name == "array_value" || name == "list_pack" {
			// [a, b, c]: a constant list when its elements are.
			out.list, out.elems, out.constant = true, int64(len(args)), true
			for _, a := range args {
				out.constant = out.constant && a.constant
			}
		}
		// Any other function counts as computed per row (some are
		// volatile, and folding is DuckDB's choice), bounded by its
		// inputs; functions that multiply their input (replace, concat
		// of a value with itself) are not modelled.
		return out
	}
	// Column references, parameters, subqueries, operators, CASE, lambdas:
	// not constant; bounded by the builders and constants inside, walked
	// so that a builder inside a scalar subquery counts too.
	out := size{bytes: 1}
	g.walk(n, func(s size) { out.bytes = satAdd(out.bytes, s.bytes) }, true)
	return out
}

// args bounds a function node's children in order.
func (g *sizeGate) args(n map[string]any) []size {
	children, _ := n["children"].([]any)
	out := make([]size, 0, len(children))
	for _, c := range children {
		m, _ := c.(map[string]any)
		out = append(out, g.expr(m))
	}
	return out
}

// walk calls visit with the size of every expression nested in v (not
// v itself when skipSelf), descending through non-expression objects
// (select nodes, table refs, order modifiers) and arrays.
func (g *sizeGate) walk(v any, visit func(size), skipSelf bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["class"]; ok && !skipSelf {
			visit(g.expr(x))
			return
		}
		for k, c := range x {
			if k == "class" || k == "type" || k == "cast_type" {
				continue
			}
			g.walk(c, visit, false)
		}
	case []any:
		for _, c := range x {
			g.walk(c, visit, false)
		}
	}
}

// constantSize reads a CONSTANT node.
func constantSize(n map[string]any) size {
	out := size{bytes: 1, constant: true}
	v, _ := n["value"].(map[string]any)
	if v == nil {
		return out
	}
	if isNull, _ := v["is_null"].(bool); isNull {
		return out
	}
	switch val := v["value"].(type) {
	case string:
		out.bytes = max(int64(len(val)), 1)
		out.text = &val
	case json.Number:
		out.bytes = int64(len(val))
		out.integer = parseInteger(string(val))
	default: // lists, structs: bounded by their JSON
		raw, _ := json.Marshal(val)
		out.bytes = int64(len(raw))
	}
	if t, ok := v["type"].(map[string]any); ok {
		if id, _ := t["id"].(string); id == "LIST" || id == "ARRAY" {
			out.list, out.elems = true, max(out.bytes/2, 1)
		}
	}
	return out
}

// castInteger keeps an integer constant through a cast ('10'::BIGINT,
// 10::BIGINT); anything else is not an integer constant.
func castInteger(s size) *int64 {
	if !s.constant {
		return nil
	}
	if s.integer != nil {
		return s.integer
	}
	if s.text != nil {
		return parseInteger(strings.TrimSpace(*s.text))
	}
	return nil
}

// parseInteger parses a decimal integer, saturated to int64; nil when s
// is not one (1e9, 2.5).
func parseInteger(s string) *int64 {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil
	}
	var v int64
	switch {
	case n.IsInt64():
		v = n.Int64()
	case n.Sign() > 0:
		v = math.MaxInt64
	default:
		v = math.MinInt64
	}
	return &v
}

// builder bounds one size-taking call from its arguments' sizes, checks
// it against its own cap and adds it to the statement's total.
func (g *sizeGate) builder(name string, args []size) size {
	if g.err != nil {
		return size{bytes: 1} // an argument was refused: that is the answer
	}
	computed := func(what string) size {
		g.err = &ListBombError{Function: name, Reason: "with a computed " + what, Unit: unitOf(name)}
		return size{bytes: 1}
	}
	count := func(i int) (int64, bool) {
		if i >= len(args) || args[i].integer == nil {
			return 0, false
		}
		return max(*args[i].integer, 0), true
	}
	out := size{constant: true}
	for _, a := range args {
		out.constant = out.constant && a.constant
	}
	switch name {
	case "range", "generate_series":
		if len(args) == 0 {
			return computed("size")
		}
		bounds := make([]int64, len(args))
		for i, a := range args {
			if a.integer == nil {
				return computed("size")
			}
			bounds[i] = *a.integer
		}
		out.list, out.elems = true, rangeCount(bounds)
	case "list_resize", "array_resize": // (list, n[, fill])
		n, ok := count(1)
		if !ok {
			return computed("size")
		}
		out.list, out.elems = true, n
		if len(args) > 2 {
			out.bytes = satMul(n, args[2].bytes)
		}
	case "repeat": // (string|blob|list, n)
		n, ok := count(1)
		if !ok {
			return computed("size")
		}
		in := size{bytes: 1}
		if len(args) > 0 {
			in = args[0]
		}
		out.bytes = satMul(n, max(in.bytes, 1))
		if in.list {
			out.list, out.elems = true, satMul(n, max(in.elems, 1))
		}
	case "lpad", "rpad": // (string, n, fill): n characters, up to 4 bytes each
		n, ok := count(1)
		if !ok {
			return computed("size")
		}
		width := int64(utf8.UTFMax)
		if out.constant {
			width = 1
			for _, a := range args {
				if a.text != nil {
					width = max(width, maxRuneLen(*a.text))
				}
			}
		}
		out.bytes = satMul(n, width)
	case "bitstring": // (bits, length in bits)
		n, ok := count(1)
		if !ok {
			return computed("length")
		}
		out.bytes = n/8 + 2
	case "printf", "format":
		if len(args) == 0 || args[0].text == nil {
			g.err = &ListBombError{Function: name, Reason: "with a computed format",
				Hint: "the format must be a string constant, so that its widths can be checked", Unit: "bytes"}
			return size{bytes: 1}
		}
		widths := printfWidths
		if name == "format" {
			widths = fmtWidths
		}
		sum, dynamic := widths(*args[0].text)
		if dynamic {
			g.err = &ListBombError{Function: name, Reason: "with a computed width or precision (* or {})",
				Hint: "write widths and precisions as constants in the format, e.g. '%10.2f' or '{:>10}'", Unit: "bytes"}
			return size{bytes: 1}
		}
		out.bytes = satAdd(int64(len(*args[0].text)), sum)
		for _, a := range args[1:] {
			out.bytes = satAdd(out.bytes, a.bytes)
		}
	}
	g.account(name, out)
	return out
}

// account checks one call against its cap (folded or per row) and adds
// it to the statement's totals.
func (g *sizeGate) account(name string, s size) {
	if s.constant {
		g.foldedBytes = satAdd(g.foldedBytes, s.bytes)
		g.foldedElems = satAdd(g.foldedElems, s.elems)
	} else {
		g.rowBytes = satAdd(g.rowBytes, s.bytes)
		g.rowElems = satAdd(g.rowElems, s.elems)
	}
	switch {
	case s.constant && s.elems > maxBuiltListElements:
		g.err = &ListBombError{Function: name, Reason: fmt.Sprintf("of about %d elements (more than %d)", s.elems, maxBuiltListElements), Limit: maxBuiltListElements, Unit: "elements"}
	case s.constant && s.bytes > maxBuiltStringBytes:
		g.err = &ListBombError{Function: name, Reason: fmt.Sprintf("to a size of %d bytes (more than %d)", s.bytes, maxBuiltStringBytes), Limit: maxBuiltStringBytes, Unit: "bytes"}
	case !s.constant && s.elems > maxRowListElements:
		g.err = perRowError(name, fmt.Sprintf("%d elements", s.elems), maxRowListElements, "elements")
	case !s.constant && s.bytes > maxRowStringBytes:
		g.err = perRowError(name, fmt.Sprintf("%d bytes", s.bytes), maxRowStringBytes, "bytes")
	case satAdd(g.foldedElems, satMul(g.rowElems, duckVectorRows)) > maxBuiltListElements:
		g.err = totalError(name, "list elements", maxBuiltListElements, "elements")
	case satAdd(g.foldedBytes, satMul(g.rowBytes, duckVectorRows)) > maxBuiltStringBytes:
		g.err = totalError(name, "bytes", maxBuiltStringBytes, "bytes")
	}
}

func perRowError(name, what string, limit int64, unit string) *ListBombError {
	return &ListBombError{Function: name, Limit: limit, Unit: unit,
		Reason: fmt.Sprintf("builds up to %s per row (more than %d): with a non-constant argument (a column or an expression) it runs once per row, and DuckDB builds %d rows at once", what, limit, duckVectorRows),
		Hint:   fmt.Sprintf("keep per-row sizes at most %d %s, or build the value once from constant arguments", limit, unit)}
}

func totalError(name, what string, limit int64, unit string) *ListBombError {
	return &ListBombError{Function: name, Limit: limit, Unit: unit,
		Reason: fmt.Sprintf("brings the statement's size-taking calls past %d %s in all (each per-row value counts %d times: DuckDB builds that many rows at once)", limit, what, duckVectorRows),
		Hint:   "use fewer or smaller constant sizes"}
}

// unitOf is the unit a builder's cap is counted in.
func unitOf(name string) string {
	switch name {
	case "range", "generate_series", "list_resize", "array_resize":
		return "elements"
	}
	return "bytes"
}

// rangeCount is the number of elements range/generate_series(bounds...)
// produce, saturated; DuckDB refuses a zero step itself.
func rangeCount(b []int64) int64 {
	if len(b) == 1 {
		return max(b[0], 0)
	}
	start, stop, step := big.NewInt(b[0]), big.NewInt(b[1]), big.NewInt(1)
	if len(b) > 2 {
		step = big.NewInt(b[2])
	}
	if step.Sign() == 0 {
		return 0
	}
	n := new(big.Int).Quo(new(big.Int).Sub(stop, start), step)
	n.Add(n, big.NewInt(1)) // generate_series includes stop
	switch {
	case n.Sign() <= 0:
		return 0
	case !n.IsInt64():
		return math.MaxInt64
	}
	return n.Int64()
}

func maxRuneLen(s string) int64 {
	w := int64(1)
	for _, r := range s {
		w = max(w, int64(utf8.RuneLen(r)))
	}
	return w
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}
