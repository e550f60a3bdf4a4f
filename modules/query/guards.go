package query

import (
	"encoding/json"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// checkParams refuses, before anything runs, the params the driver cannot
// bind, naming the param: a JSON object (a STRUCT to the driver) used to
// fail deep in binding with an empty message.
func checkParams(params []any) error {
	for i, p := range params {
		if msg := paramProblem(p, 0); msg != "" {
			return kit.Errorf(http.StatusBadRequest, "bad_params", "params[%d]: %s", i, msg).
				WithDetails(map[string]any{"param": i})
		}
	}
	return nil
}

// maxParamDepth bounds nested lists in a param.
const maxParamDepth = 32

func paramProblem(v any, depth int) string {
	switch x := v.(type) {
	case nil, bool, string, json.Number, time.Time, []byte,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return ""
	case []any:
		if depth >= maxParamDepth {
			return fmt.Sprintf("lists nested deeper than %d are not supported", maxParamDepth)
		}
		for j, e := range x {
			if msg := paramProblem(e, depth+1); msg != "" {
				return fmt.Sprintf("element %d: %s", j, msg)
			}
		}
		return ""
	case map[string]any:
		return "a JSON object is not a supported SQL parameter; send it as a string and read it with $1::JSON (or json_extract)"
	default:
		return fmt.Sprintf("a %T is not a supported SQL parameter", v)
	}
}

// checkReadable refuses (400, naming the column and its type) a result
// column the driver cannot read into Go values, e.g. TIME_NS or VARIANT:
// the json, ndjson and csv answers would otherwise fail at the first row
// with a bare driver error.
func checkReadable(st *duckdb.Stmt) error {
	n, err := st.ColumnCount()
	if err != nil {
		return nil // nothing to check: the query itself reports it
	}
	var bad []string
	var first map[string]any
	for i := range n {
		name, _ := st.ColumnName(i)
		var typ string
		if t, _ := st.ColumnType(i); t == duckdb.TYPE_INVALID {
			// Decided by the params at execution; the driver's own
			// error is mapped to the same 400 then.
			continue
		}
		if ti, err := st.ColumnTypeInfo(i); err != nil {
			t, _ := st.ColumnType(i)
			typ = duckTypeName(t)
		} else if t, ok := unreadable(ti); ok {
			typ = duckTypeName(t)
		} else {
			continue
		}
		if first == nil {
			first = map[string]any{"column": name, "type": typ}
		}
		bad = append(bad, fmt.Sprintf("%q (%s)", name, typ))
	}
	if bad == nil {
		return nil
	}
	return kit.Errorf(http.StatusBadRequest, "unsupported_type",
		"column %s cannot be rendered as json, ndjson or csv; cast it in the query (e.g. %s::VARCHAR) or ask for format \"arrow\"",
		strings.Join(bad, ", "), quoteIdent(first["column"].(string))).WithDetails(first)
}

// unreadable returns the first type inside ti that the driver cannot read.
func unreadable(ti duckdb.TypeInfo) (duckdb.Type, bool) {
	if ti == nil {
		return duckdb.TYPE_INVALID, true
	}
	t := ti.InternalType()
	if !readableTypes[t] {
		return t, true
	}
	var children []duckdb.TypeInfo
	switch d := ti.Details().(type) {
	case *duckdb.ListDetails:
		children = append(children, d.Child)
	case *duckdb.ArrayDetails:
		children = append(children, d.Child)
	case *duckdb.MapDetails:
		children = append(children, d.Key, d.Value)
	case *duckdb.StructDetails:
		for _, e := range d.Entries {
			children = append(children, e.Info())
		}
	case *duckdb.UnionDetails:
		for _, m := range d.Members {
			children = append(children, m.Type)
		}
	}
	for _, c := range children {
		if t, bad := unreadable(c); bad {
			return t, true
		}
	}
	return 0, false
}

// readableTypes are the types the driver's row reader handles.
var readableTypes = map[duckdb.Type]bool{
	duckdb.TYPE_BOOLEAN: true, duckdb.TYPE_TINYINT: true, duckdb.TYPE_SMALLINT: true,
	duckdb.TYPE_INTEGER: true, duckdb.TYPE_BIGINT: true, duckdb.TYPE_UTINYINT: true,
	duckdb.TYPE_USMALLINT: true, duckdb.TYPE_UINTEGER: true, duckdb.TYPE_UBIGINT: true,
	duckdb.TYPE_FLOAT: true, duckdb.TYPE_DOUBLE: true, duckdb.TYPE_TIMESTAMP: true,
	duckdb.TYPE_TIMESTAMP_S: true, duckdb.TYPE_TIMESTAMP_MS: true, duckdb.TYPE_TIMESTAMP_NS: true,
	duckdb.TYPE_TIMESTAMP_TZ: true, duckdb.TYPE_DATE: true, duckdb.TYPE_TIME: true,
	duckdb.TYPE_TIME_TZ: true, duckdb.TYPE_INTERVAL: true, duckdb.TYPE_HUGEINT: true,
	duckdb.TYPE_UHUGEINT: true, duckdb.TYPE_BIGNUM: true, duckdb.TYPE_VARCHAR: true,
	duckdb.TYPE_BLOB: true, duckdb.TYPE_GEOMETRY: true, duckdb.TYPE_BIT: true,
	duckdb.TYPE_DECIMAL: true, duckdb.TYPE_ENUM: true, duckdb.TYPE_LIST: true,
	duckdb.TYPE_STRUCT: true, duckdb.TYPE_MAP: true, duckdb.TYPE_ARRAY: true,
	duckdb.TYPE_UNION: true, duckdb.TYPE_UUID: true, duckdb.TYPE_SQLNULL: true,
}

// duckTypeName names the types checkReadable refuses.
func duckTypeName(t duckdb.Type) string {
	switch t {
	case duckdb.TYPE_VARIANT:
		return "VARIANT"
	case duckdb.TYPE_ANY:
		return "ANY"
	case duckdb.TYPE_INVALID:
		return "INVALID"
	case duckdb.Type(mapping.TypeTimeNS):
		return "TIME_NS"
	}
	return fmt.Sprintf("type id %d", t)
}
