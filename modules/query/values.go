package query

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// jsonValue turns a driver value into something encoding/json renders
// faithfully: DATE as "2006-01-02", TIME as "15:04:05.999999", TIMESTAMP
// as RFC 3339, UUID as its text, DECIMAL as a number, HUGEINT as a
// number (exact), BLOB as hex, MAP as an object (keys as text), and NaN or
// ±Inf (not JSON) as strings.
func jsonValue(v any, dbType string) any {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 32)
		}
		return x
	case time.Time:
		return formatTime(x, dbType)
	case []byte:
		if dbType == "UUID" && len(x) == 16 {
			var u duckdb.UUID
			copy(u[:], x)
			return u.String()
		}
		return hex.EncodeToString(x)
	case duckdb.UUID:
		return x.String()
	case *big.Int:
		return jsonNumber(x.String())
	case duckdb.Decimal:
		return jsonNumber(x.String())
	case duckdb.Interval:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e, "")
		}
		return out
	case duckdb.OrderedMap:
		out := make(map[string]any, x.Len())
		vals := x.Values()
		for i, k := range x.Keys() {
			out[fmt.Sprint(k)] = jsonValue(vals[i], "")
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonValue(e, "")
		}
		return out
	case duckdb.Union:
		return map[string]any{"tag": x.Tag, "value": jsonValue(x.Value, "")}
	default:
		return fmt.Sprint(x)
	}
}

// jsonNumber is a number written verbatim (exact HUGEINT / DECIMAL).
type jsonNumber string

// MarshalJSON implements json.Marshaler.
func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func formatTime(t time.Time, dbType string) string {
	switch dbType {
	case "DATE":
		return t.Format(time.DateOnly)
	case "TIME", "TIMETZ", "TIME_NS":
		return t.Format("15:04:05.999999999")
	default:
		return t.Format(time.RFC3339Nano)
	}
}

// textValue renders a value for CSV and the CLI table; NULL is "".
func textValue(v any, dbType string) string {
	s, _ := textValueMax(v, dbType, math.MaxInt)
	return s
}

// textValueMax renders a value for CSV within max bytes (errOverBudget
// past it): scalars as jsonValue renders them, without quotes; lists,
// structs and maps as JSON.
func textValueMax(v any, dbType string, max int) (string, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'g', -1, 32)
	case time.Time:
		s = formatTime(x, dbType)
	case []any, map[string]any, duckdb.OrderedMap, duckdb.Map, duckdb.Union:
		b, err := appendValue(nil, v, dbType, max)
		return string(b), err
	default:
		switch y := jsonValue(v, dbType).(type) {
		case string:
			s = y
		case jsonNumber:
			s = string(y)
		default:
			b, err := appendValue(nil, y, dbType, max)
			return string(b), err
		}
	}
	if len(s) > max {
		return "", errOverBudget
	}
	return s, nil
}

// appendJSONString quotes s; ok is false for invalid UTF-8 (left to
// encoding/json, which replaces bad bytes).
func appendJSONString(buf []byte, s string) ([]byte, bool) {
	const hexDigits = "0123456789abcdef"
	if !utf8.ValidString(s) {
		return buf, false
	}
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default: // other control characters
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"'), true
}
