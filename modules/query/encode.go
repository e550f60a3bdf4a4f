package query

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// errOverBudget stops an encoding that would grow past its byte budget.
var errOverBudget = errors.New("query: answer over its byte budget")

// appendJSON appends v as JSON, as jsonValue would render it.
func appendJSON(buf []byte, v any, dbType string) ([]byte, error) {
	return appendValue(buf, v, dbType, math.MaxInt)
}

// appendValue appends v as JSON, rendered as jsonValue does, and fails
// with errOverBudget once buf would pass max bytes. Strings and blobs are
// checked before they are copied and lists and maps after each element,
// so a huge value (a 1 GB string, a list of 40 million numbers) is never
// encoded whole: the work stops at the budget.
func appendValue(buf []byte, v any, dbType string, max int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		buf = append(buf, "null"...)
	case bool:
		buf = strconv.AppendBool(buf, x)
	case int64:
		buf = strconv.AppendInt(buf, x, 10)
	case int32:
		buf = strconv.AppendInt(buf, int64(x), 10)
	case int16:
		buf = strconv.AppendInt(buf, int64(x), 10)
	case int8:
		buf = strconv.AppendInt(buf, int64(x), 10)
	case int:
		buf = strconv.AppendInt(buf, int64(x), 10)
	case uint64:
		buf = strconv.AppendUint(buf, x, 10)
	case uint32:
		buf = strconv.AppendUint(buf, uint64(x), 10)
	case uint16:
		buf = strconv.AppendUint(buf, uint64(x), 10)
	case uint8:
		buf = strconv.AppendUint(buf, uint64(x), 10)
	case float64:
		buf = appendFloat(buf, x, 64)
	case float32:
		buf = appendFloat(buf, float64(x), 32)
	case string:
		if len(buf)+len(x)+2 > max {
			return buf, errOverBudget
		}
		if out, ok := appendJSONString(buf, x); ok {
			buf = out
		} else {
			b, err := json.Marshal(x) // invalid UTF-8: encoding/json replaces bad bytes
			if err != nil {
				return buf, err
			}
			buf = append(buf, b...)
		}
	case time.Time:
		buf = append(append(append(buf, '"'), formatTime(x, dbType)...), '"')
	case []byte:
		if dbType == "UUID" && len(x) == 16 {
			var u duckdb.UUID
			copy(u[:], x)
			buf = append(append(append(buf, '"'), u.String()...), '"')
			break
		}
		if len(buf)+2*len(x)+2 > max {
			return buf, errOverBudget
		}
		buf = append(hex.AppendEncode(append(buf, '"'), x), '"')
	case duckdb.UUID:
		buf = append(append(append(buf, '"'), x.String()...), '"')
	case *big.Int:
		buf = x.Append(buf, 10)
	case duckdb.Decimal:
		buf = append(buf, x.String()...)
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, e, "", max); err != nil {
				return buf, err
			}
		}
		buf = append(buf, ']')
	case map[string]any:
		return appendObject(buf, len(x), func(yield func(string, any)) {
			for k, e := range x {
				yield(k, e)
			}
		}, max)
	case duckdb.OrderedMap:
		vals := x.Values()
		return appendObject(buf, x.Len(), func(yield func(string, any)) {
			for i, k := range x.Keys() {
				yield(fmt.Sprint(k), vals[i])
			}
		}, max)
	case duckdb.Map:
		return appendObject(buf, len(x), func(yield func(string, any)) {
			for k, e := range x {
				yield(fmt.Sprint(k), e)
			}
		}, max)
	case duckdb.Union:
		buf = append(buf, `{"tag":`...)
		buf, _ = appendJSONString(buf, x.Tag)
		buf = append(buf, `,"value":`...)
		var err error
		if buf, err = appendValue(buf, x.Value, "", max); err != nil {
			return buf, err
		}
		buf = append(buf, '}')
	default:
		// Interval and anything newer: what encoding/json makes of
		// jsonValue's rendering (small, fixed-size values).
		b, err := json.Marshal(jsonValue(v, dbType))
		if err != nil {
			return buf, err
		}
		buf = append(buf, b...)
	}
	if len(buf) > max {
		return buf, errOverBudget
	}
	return buf, nil
}

// appendObject writes a JSON object with its keys sorted (as
// encoding/json renders maps); a repeated key keeps its last value.
func appendObject(buf []byte, n int, entries func(yield func(string, any)), max int) ([]byte, error) {
	m := make(map[string]any, n)
	entries(func(k string, v any) { m[k] = v })
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendValue(buf, k, "", max); err != nil {
			return buf, err
		}
		buf = append(buf, ':')
		if buf, err = appendValue(buf, m[k], "", max); err != nil {
			return buf, err
		}
	}
	return append(buf, '}'), nil
}

// appendFloat writes a number, or NaN / ±Inf (not JSON) as a string.
func appendFloat(buf []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(strconv.AppendFloat(append(buf, '"'), f, 'g', -1, bits), '"')
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

// appendRow appends one row as a JSON array within the byte budget.
func appendRow(buf []byte, vals []any, cols []Column, max int) ([]byte, error) {
	buf = append(buf, '[')
	for i, v := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendValue(buf, v, cols[i].Type, max); err != nil {
			return buf, err
		}
	}
	buf = append(buf, ']')
	if len(buf) > max {
		return buf, errOverBudget
	}
	return buf, nil
}
