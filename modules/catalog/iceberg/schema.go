package iceberg

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	ib "github.com/apache/iceberg-go"
)

// Column is one column of a version's schema: a DuckDB type name, as the
// catalog records it.
type Column struct {
	Name string
	Type string
}

var decimalRE = regexp.MustCompile(`^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$`)

// icebergType maps a DuckDB type name to the Iceberg type of the column
// the Parquet writer produced for it. A type Iceberg cannot express (an
// unsigned or 128-bit integer, a nested type) is an error, which fails
// the commit: a table readers would misread is worse than none.
func icebergType(duck string) (ib.Type, error) {
	t := strings.ToUpper(strings.TrimSpace(duck))
	if strings.HasSuffix(t, "]") {
		if i := strings.LastIndexByte(t, '['); i > 0 {
			elem, err := icebergType(t[:i])
			if err != nil {
				return nil, err
			}
			return &ib.ListType{Element: elem}, nil
		}
	}
	if m := decimalRE.FindStringSubmatch(t); m != nil {
		p, _ := strconv.Atoi(m[1])
		s := 0
		if m[2] != "" {
			s, _ = strconv.Atoi(m[2])
		}
		if p < 1 || p > 38 || s > p {
			return nil, fmt.Errorf("iceberg: type %s: precision must be 1..38 and scale ≤ precision", duck)
		}
		return ib.DecimalTypeOf(p, s), nil
	}
	if base, _, ok := strings.Cut(t, "("); ok && (strings.TrimSpace(base) == "VARCHAR" || strings.TrimSpace(base) == "CHAR") {
		t = "VARCHAR"
	}
	switch t {
	case "BOOLEAN", "BOOL":
		return ib.PrimitiveTypes.Bool, nil
	case "TINYINT", "SMALLINT", "INTEGER", "INT", "INT4", "INT2", "INT1":
		return ib.PrimitiveTypes.Int32, nil
	case "BIGINT", "INT8", "LONG":
		return ib.PrimitiveTypes.Int64, nil
	case "FLOAT", "REAL", "FLOAT4":
		return ib.PrimitiveTypes.Float32, nil
	case "DOUBLE", "FLOAT8":
		return ib.PrimitiveTypes.Float64, nil
	case "DATE":
		return ib.PrimitiveTypes.Date, nil
	case "TIME":
		return ib.PrimitiveTypes.Time, nil
	case "TIMESTAMP", "DATETIME", "TIMESTAMP_US":
		return ib.PrimitiveTypes.Timestamp, nil
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return ib.PrimitiveTypes.TimestampTz, nil
	case "VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "JSON":
		return ib.PrimitiveTypes.String, nil
	case "BLOB", "BYTEA", "BINARY", "VARBINARY":
		return ib.PrimitiveTypes.Binary, nil
	case "UUID":
		return ib.PrimitiveTypes.UUID, nil
	}
	return nil, fmt.Errorf("iceberg: column type %s has no Iceberg equivalent", duck)
}

// elemSep joins a list column's path to its element in known-id keys (a
// byte no column name can hold).
const elemSep = "\x00element"

// knownIDs maps every column name any schema of the table ever had (and
// each list's element, as name+elemSep) to its field id: a name keeps one
// id for the table's life.
func knownIDs(schemas []*ib.Schema) map[string]int {
	ids := map[string]int{}
	for _, s := range schemas {
		for _, f := range s.Fields() {
			ids[f.Name] = f.ID
			path, t := f.Name, f.Type
			for {
				l, ok := t.(*ib.ListType)
				if !ok {
					break
				}
				path += elemSep
				ids[path] = l.ElementID
				t = l.Element
			}
		}
	}
	return ids
}

// evolve builds the schema of a new version: a column keeps the field id
// its name had in any earlier schema of the table, and a name never seen
// gets a fresh id above lastID. Keeping the id across a type change (a
// replace that widened BIGINT to DOUBLE or VARCHAR) is what lets time
// travel work at all: lakehouse's Parquet parts carry no field ids, so
// readers resolve columns through the table's name mapping, which can map
// a name to one id only. No snapshot ever mixes types under one id: an
// append must keep the schema, and a replace drops every old part. Every
// field is optional, since nullability varies per version in the catalog.
// A column whose type Iceberg cannot express (STRUCT, MAP, HUGEINT,
// unsigned integers, INTERVAL, ...) is left out of the table and listed in
// omitted: engines then read every other column, and never a misread one.
// changed is false when the result equals cur.
func evolve(cur *ib.Schema, known map[string]int, lastID int, cols []Column) (s *ib.Schema, newLast int, changed bool, omitted []string) {
	fields := make([]ib.NestedField, 0, len(cols))
	newLast = lastID
	idFor := func(path string) int {
		if id, ok := known[path]; ok {
			return id
		}
		newLast++
		return newLast
	}
	for _, c := range cols {
		t, err := icebergType(c.Type)
		if err != nil {
			omitted = append(omitted, c.Name+" "+c.Type)
			continue
		}
		id := idFor(c.Name)
		fields = append(fields, ib.NestedField{ID: id, Name: c.Name, Type: assignListIDs(t, c.Name, idFor), Required: false})
	}
	if cur == nil {
		return ib.NewSchema(0, fields...), newLast, true, omitted
	}
	s = ib.NewSchema(cur.ID, fields...)
	return s, newLast, !s.Equals(cur), omitted
}

func assignListIDs(t ib.Type, path string, idFor func(string) int) ib.Type {
	l, ok := t.(*ib.ListType)
	if !ok {
		return t
	}
	path += elemSep
	return &ib.ListType{ElementID: idFor(path), Element: assignListIDs(l.Element, path, idFor), ElementRequired: false}
}

// nameMapping maps every name to its one field id, dropped columns
// included, so a reader of an old snapshot finds its columns too; a
// list's element maps by Parquet's "element" name.
func nameMapping(known map[string]int) ib.NameMapping {
	var names []string
	for n := range known {
		if !strings.Contains(n, elemSep) {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return known[a] - known[b] })
	m := make(ib.NameMapping, 0, len(names))
	for _, n := range names {
		m = append(m, mappedField(known, n, n))
	}
	return m
}

func mappedField(known map[string]int, path, name string) ib.MappedField {
	id := known[path]
	f := ib.MappedField{FieldID: &id, Names: []string{name}}
	if _, ok := known[path+elemSep]; ok {
		f.Fields = []ib.MappedField{mappedField(known, path+elemSep, "element")}
	}
	return f
}
