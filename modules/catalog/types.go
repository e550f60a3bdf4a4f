package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxTypeLen bounds a column type name, in bytes.
const MaxTypeLen = 1024

// maxTypeDepth bounds the nesting of STRUCT, MAP, UNION and arrays.
const maxTypeDepth = 32

// baseTypes are the DuckDB type names a column may have, upper case.
var baseTypes = map[string]bool{
	"BOOLEAN": true, "BOOL": true, "LOGICAL": true,
	"TINYINT": true, "INT1": true, "SMALLINT": true, "INT2": true, "SHORT": true,
	"INTEGER": true, "INT4": true, "INT": true, "SIGNED": true,
	"BIGINT": true, "INT8": true, "LONG": true, "HUGEINT": true,
	"UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true, "UHUGEINT": true,
	"FLOAT": true, "FLOAT4": true, "REAL": true, "DOUBLE": true, "FLOAT8": true,
	"DECIMAL": true, "NUMERIC": true, "VARINT": true,
	"VARCHAR": true, "CHAR": true, "BPCHAR": true, "TEXT": true, "STRING": true,
	"BLOB": true, "BYTEA": true, "BINARY": true, "VARBINARY": true, "BIT": true, "BITSTRING": true,
	"DATE": true, "TIME": true, "TIMETZ": true, "INTERVAL": true,
	"TIMESTAMP": true, "DATETIME": true, "TIMESTAMPTZ": true,
	"TIMESTAMP_S": true, "TIMESTAMP_MS": true, "TIMESTAMP_NS": true,
	"UUID": true, "JSON": true,
}

// lengthTypes take an optional (n) that DuckDB accepts and ignores.
var lengthTypes = map[string]bool{"VARCHAR": true, "CHAR": true, "BPCHAR": true}

// ValidateType checks a column type against a strict grammar of DuckDB
// types, because the name is spliced into SQL (a typed empty view casts
// NULL to it) and must never carry anything else:
//
//	type   = base { "[" [digits] "]" }
//	base   = NAME | NAME "(" digits ")"           (VARCHAR, CHAR, BPCHAR)
//	       | ("DECIMAL"|"NUMERIC") [ "(" digits [ "," digits ] ")" ]
//	       | ("TIMESTAMP"|"TIME") "WITH" "TIME" "ZONE" | "DOUBLE" "PRECISION"
//	       | ("STRUCT"|"UNION") "(" field { "," field } ")"
//	       | "MAP" "(" type "," type ")"
//	field  = ident type          ident = [A-Za-z_][A-Za-z0-9_]* | "quoted"
//
// Names are case-insensitive; spaces may separate tokens; no other
// character (no quotes but an identifier's, no control character) passes.
func ValidateType(t string) error {
	if len(t) > MaxTypeLen {
		return fmt.Errorf("type is %d bytes, longer than %d", len(t), MaxTypeLen)
	}
	toks, err := lexType(t)
	if err != nil {
		return err
	}
	p := &typeParser{toks: toks}
	if err := p.typ(0); err != nil {
		return err
	}
	if p.i < len(p.toks) {
		return fmt.Errorf("unexpected %q after the type", p.toks[p.i].text)
	}
	return nil
}

type tokKind int

const (
	tWord tokKind = iota
	tNumber
	tQuoted
	tPunct
)

type typeTok struct {
	kind tokKind
	text string
}

func lexType(s string) ([]typeTok, error) {
	var toks []typeTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',' || c == '[' || c == ']':
			toks = append(toks, typeTok{tPunct, s[i : i+1]})
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, typeTok{tNumber, s[i:j]})
			i = j
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, typeTok{tWord, s[i:j]})
			i = j
		case c == '"':
			// A quoted field name; "" is a quote inside it.
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errors.New("unterminated quoted field name")
				}
				if s[j] < 0x20 || s[j] == 0x7f {
					return nil, fmt.Errorf("control character in a quoted field name at byte %d", j)
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j == i+1 {
				return nil, errors.New("empty quoted field name")
			}
			toks = append(toks, typeTok{tQuoted, s[i : j+1]})
			i = j + 1
		default:
			return nil, fmt.Errorf("character %q at byte %d is not part of a type name", rune(c), i)
		}
	}
	if len(toks) == 0 {
		return nil, errors.New("empty type")
	}
	return toks, nil
}

type typeParser struct {
	toks []typeTok
	i    int
}

func (p *typeParser) peek() (typeTok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return typeTok{}, false
}

func (p *typeParser) word(w string) bool {
	if t, ok := p.peek(); ok && t.kind == tWord && strings.EqualFold(t.text, w) {
		p.i++
		return true
	}
	return false
}

func (p *typeParser) punct(c string) bool {
	if t, ok := p.peek(); ok && t.kind == tPunct && t.text == c {
		p.i++
		return true
	}
	return false
}

func (p *typeParser) expect(c string) error {
	if p.punct(c) {
		return nil
	}
	if t, ok := p.peek(); ok {
		return fmt.Errorf("expected %q, found %q", c, t.text)
	}
	return fmt.Errorf("expected %q at the end", c)
}

func (p *typeParser) number(limit int) (int, error) {
	t, ok := p.peek()
	if !ok || t.kind != tNumber {
		return 0, errors.New("expected a number")
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n > limit {
		return 0, fmt.Errorf("number %s is larger than %d", t.text, limit)
	}
	p.i++
	return n, nil
}

func (p *typeParser) typ(depth int) error {
	if depth > maxTypeDepth {
		return fmt.Errorf("type nests deeper than %d", maxTypeDepth)
	}
	if err := p.base(depth); err != nil {
		return err
	}
	for p.punct("[") {
		if t, ok := p.peek(); ok && t.kind == tNumber {
			if _, err := p.number(1 << 20); err != nil {
				return err
			}
		}
		if err := p.expect("]"); err != nil {
			return err
		}
		if depth++; depth > maxTypeDepth {
			return fmt.Errorf("type nests deeper than %d", maxTypeDepth)
		}
	}
	return nil
}

func (p *typeParser) base(depth int) error {
	t, ok := p.peek()
	if !ok {
		return errors.New("expected a type name at the end")
	}
	if t.kind != tWord {
		return fmt.Errorf("expected a type name, found %q", t.text)
	}
	p.i++
	name := strings.ToUpper(t.text)
	switch name {
	case "STRUCT", "UNION":
		return p.fields(name, depth)
	case "MAP":
		if err := p.expect("("); err != nil {
			return err
		}
		if err := p.typ(depth + 1); err != nil {
			return err
		}
		if err := p.expect(","); err != nil {
			return err
		}
		if err := p.typ(depth + 1); err != nil {
			return err
		}
		return p.expect(")")
	case "DECIMAL", "NUMERIC":
		if !p.punct("(") {
			return nil
		}
		prec, err := p.number(38)
		if err != nil {
			return fmt.Errorf("%s precision: %w", name, err)
		}
		if prec < 1 {
			return fmt.Errorf("%s precision must be 1 to 38", name)
		}
		if p.punct(",") {
			if _, err := p.number(prec); err != nil {
				return fmt.Errorf("%s scale: %w", name, err)
			}
		}
		return p.expect(")")
	case "TIMESTAMP", "TIME":
		if p.word("WITH") {
			if !p.word("TIME") || !p.word("ZONE") {
				return fmt.Errorf("expected %s WITH TIME ZONE", name)
			}
		}
		return nil
	case "DOUBLE":
		p.word("PRECISION")
		return nil
	}
	if !baseTypes[name] {
		return fmt.Errorf("%q is not a DuckDB type name", t.text)
	}
	if lengthTypes[name] && p.punct("(") {
		if _, err := p.number(1 << 30); err != nil {
			return fmt.Errorf("%s length: %w", name, err)
		}
		return p.expect(")")
	}
	return nil
}

func (p *typeParser) fields(name string, depth int) error {
	if err := p.expect("("); err != nil {
		return err
	}
	for {
		f, ok := p.peek()
		if !ok || (f.kind != tWord && f.kind != tQuoted) {
			return fmt.Errorf("%s expects a field name", name)
		}
		p.i++
		if err := p.typ(depth + 1); err != nil {
			return fmt.Errorf("%s field %s: %w", name, f.text, err)
		}
		if p.punct(")") {
			return nil
		}
		if err := p.expect(","); err != nil {
			return err
		}
	}
}

// ValidateColumnName rejects control characters (NUL would cut the name
// short in DuckDB's C API, so the view and the catalog would disagree on
// it) and invalid UTF-8.
func ValidateColumnName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for i, r := range name {
		switch {
		case r == 0xFFFD && !strings.HasPrefix(name[i:], "\uFFFD"):
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("control character %U at byte %d", r, i)
		}
	}
	return nil
}
