package vector

import (
	"fmt"
	"math"
	"sort"
)

// condition is one compiled clause of a metadata filter.
type condition struct {
	key string
	// eq: the value must equal one of these (equality and $in).
	eq []any
	// lo/hi: numeric range bounds; NaN = open.
	lo, hi       float64
	loInc, hiInc bool
	ne           []any
}

// filter is an AND of conditions; nil matches everything.
type filter []condition

// compileFilter turns the JSON filter into conditions. A plain value is
// equality; an object holds operators ($eq, $ne, $in, $nin, $gt, $gte,
// $lt, $lte); an unknown operator or a non-scalar value is an error (400).
func compileFilter(f map[string]any) (filter, error) {
	if len(f) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	var out filter
	for _, k := range keys {
		c := condition{key: k, lo: math.NaN(), hi: math.NaN()}
		switch v := f[k].(type) {
		case map[string]any:
			if len(v) == 0 {
				return nil, fmt.Errorf("filter %q: empty operator object", k)
			}
			for op, arg := range v {
				if err := c.addOp(k, op, arg); err != nil {
					return nil, err
				}
			}
		default:
			if !scalar(v) {
				return nil, fmt.Errorf("filter %q: value must be a string, number, bool or an operator object", k)
			}
			c.eq = []any{norm(v)}
		}
		out = append(out, c)
	}
	return out, nil
}

func (c *condition) addOp(k, op string, arg any) error {
	switch op {
	case "$eq", "$ne":
		if !scalar(arg) {
			return fmt.Errorf("filter %q: %s needs a string, number or bool", k, op)
		}
		if op == "$eq" {
			if c.eq != nil {
				return fmt.Errorf("filter %q: $eq combined with $eq or $in", k)
			}
			c.eq = []any{norm(arg)}
		} else {
			c.ne = append(c.ne, norm(arg))
		}
	case "$nin":
		arr, ok := arg.([]any)
		if !ok {
			return fmt.Errorf("filter %q: $nin needs an array", k)
		}
		for _, a := range arr {
			if !scalar(a) {
				return fmt.Errorf("filter %q: $nin values must be strings, numbers or bools", k)
			}
			c.ne = append(c.ne, norm(a))
		}
	case "$in":
		arr, ok := arg.([]any)
		if !ok {
			return fmt.Errorf("filter %q: $in needs an array", k)
		}
		if c.eq != nil {
			return fmt.Errorf("filter %q: $in combined with $eq or $in", k)
		}
		c.eq = make([]any, 0, len(arr))
		for _, a := range arr {
			if !scalar(a) {
				return fmt.Errorf("filter %q: $in values must be strings, numbers or bools", k)
			}
			c.eq = append(c.eq, norm(a))
		}
	case "$gt", "$gte", "$lt", "$lte":
		n, ok := number(arg)
		if !ok {
			return fmt.Errorf("filter %q: %s needs a number", k, op)
		}
		switch op {
		case "$gt", "$gte":
			c.lo, c.loInc = n, op == "$gte"
		default:
			c.hi, c.hiInc = n, op == "$lte"
		}
	default:
		return fmt.Errorf("filter %q: unknown operator %q (use $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte)", k, op)
	}
	return nil
}

// match reports whether metadata md satisfies every condition.
func (f filter) match(md map[string]any) bool {
	for i := range f {
		c := &f[i]
		v, ok := md[c.key]
		if !ok {
			return false
		}
		if c.eq != nil && !containsVal(c.eq, v) {
			return false
		}
		if len(c.ne) > 0 && containsVal(c.ne, v) {
			return false
		}
		if !math.IsNaN(c.lo) || !math.IsNaN(c.hi) {
			n, ok := number(v)
			if !ok {
				return false
			}
			if !math.IsNaN(c.lo) && (n < c.lo || (n == c.lo && !c.loInc)) {
				return false
			}
			if !math.IsNaN(c.hi) && (n > c.hi || (n == c.hi && !c.hiInc)) {
				return false
			}
		}
	}
	return true
}

func containsVal(set []any, v any) bool {
	v = norm(v)
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func scalar(v any) bool {
	switch v.(type) {
	case string, bool, float64, float32, int, int64, int32, uint32, uint64:
		return true
	}
	return false
}

// norm makes numbers comparable with == (every number becomes float64).
func norm(v any) any {
	if n, ok := number(v); ok {
		return n
	}
	return v
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// validateMetadata checks that md is flat: string, number or bool values.
func validateMetadata(md map[string]any) error {
	for k, v := range md {
		if k == "" {
			return fmt.Errorf("metadata has an empty key")
		}
		if !scalar(v) {
			return fmt.Errorf("metadata %q: values must be strings, numbers or bools (flat object), got %T", k, v)
		}
		if n, ok := number(v); ok && (math.IsNaN(n) || math.IsInf(n, 0)) {
			return fmt.Errorf("metadata %q: number is not finite", k)
		}
	}
	return nil
}
