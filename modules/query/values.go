package query

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

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
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case time.Time:
		return formatTime(x, dbType)
	}
	j := jsonValue(v, dbType)
	switch y := j.(type) {
	case string:
		return y
	case jsonNumber:
		return string(y)
	}
	return fmt.Sprint(j)
}
