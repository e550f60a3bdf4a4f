package workflow

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// reference is a parsed "$<node>.output[.path]" input.
type reference struct {
	node string
	path []string
}

var refPattern = regexp.MustCompile(`^\$([A-Za-z0-9_-]{1,64})\.output(?:\.(.+))?$`)

// parseRef recognises a reference; any other string (including "$5.00")
// is a literal.
func parseRef(s string) (reference, bool) {
	m := refPattern.FindStringSubmatch(s)
	if m == nil {
		return reference{}, false
	}
	ref := reference{node: m[1]}
	if m[2] != "" {
		ref.path = strings.Split(m[2], ".")
	}
	return ref, true
}

// walkRefs calls fn for every reference inside v (maps and arrays are
// walked), with where naming its position ("inputs.texts").
func walkRefs(v any, where string, fn func(where string, ref reference)) {
	switch t := v.(type) {
	case string:
		if ref, ok := parseRef(t); ok {
			fn(where, ref)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic error messages
		for _, k := range keys {
			walkRefs(t[k], where+"."+k, fn)
		}
	case []any:
		for i, e := range t {
			walkRefs(e, fmt.Sprintf("%s[%d]", where, i), fn)
		}
	}
}

// resolve returns a copy of v with every reference replaced by the
// referenced output (shared, not copied). outputs holds the finished
// nodes' outputs. Every literal and every resolved value is counted in b
// as it is resolved: past the budget the node fails before anything
// encodes the expansion.
func resolve(v any, where string, outputs map[string]any, b *inputBudget) (any, error) {
	switch t := v.(type) {
	case string:
		ref, ok := parseRef(t)
		if !ok {
			if !b.add(t) {
				return nil, b.exceeded(where)
			}
			return t, nil
		}
		out, ok := outputs[ref.node]
		if !ok {
			return nil, fmt.Errorf("%s: node %q has no output", where, ref.node)
		}
		got, err := lookupPath(out, ref.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, t, err)
		}
		if !b.add(got) {
			return nil, b.exceeded(where)
		}
		return got, nil
	case map[string]any:
		if !b.spend(2) {
			return nil, b.exceeded(where)
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			if !b.spend(len(k) + 4) {
				return nil, b.exceeded(where)
			}
			r, err := resolve(e, where+"."+k, outputs, b)
			if err != nil {
				return nil, err
			}
			m[k] = r
		}
		return m, nil
	case []any:
		if !b.spend(2) {
			return nil, b.exceeded(where)
		}
		s := make([]any, len(t))
		for i, e := range t {
			if !b.spend(1) {
				return nil, b.exceeded(where)
			}
			r, err := resolve(e, fmt.Sprintf("%s[%d]", where, i), outputs, b)
			if err != nil {
				return nil, err
			}
			s[i] = r
		}
		return s, nil
	}
	if !b.add(v) {
		return nil, b.exceeded(where)
	}
	return v, nil
}

// lookupPath walks path through JSON-shaped data: a key of an object, an
// index of an array, or "*" to map the rest of the path over an array
// ("rows.*.name" is the name column).
func lookupPath(v any, path []string) (any, error) {
	for i, seg := range path {
		switch t := v.(type) {
		case map[string]any:
			e, ok := t[seg]
			if !ok {
				return nil, fmt.Errorf("no field %q", strings.Join(path[:i+1], "."))
			}
			v = e
		case []any:
			if seg == "*" {
				out := make([]any, len(t))
				for j, e := range t {
					r, err := lookupPath(e, path[i+1:])
					if err != nil {
						return nil, fmt.Errorf("[%d]: %w", j, err)
					}
					out[j] = r
				}
				return out, nil
			}
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(t) {
				return nil, fmt.Errorf("%q: no element %q in an array of %d", strings.Join(path[:i], "."), seg, len(t))
			}
			v = t[n]
		default:
			return nil, fmt.Errorf("%q is not an object or array", strings.Join(path[:i], "."))
		}
	}
	return v, nil
}
