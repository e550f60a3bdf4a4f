package config

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite docs/CONFIG.md and lakehouse.example.toml from the config types")

// TestConfigReferenceIsCurrent keeps docs/CONFIG.md and the commented
// example file in step with the config types: both are generated from the
// field doc comments and Default(). Run `go test ./config -run Reference
// -update` after changing a section.
func TestConfigReferenceIsCurrent(t *testing.T) {
	md, example, live := buildReference(t)
	files := map[string]string{"../docs/CONFIG.md": md, "lakehouse.example.toml": example}
	for path, want := range files {
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is stale or missing: run `go test ./config -run Reference -update`", path)
		}
	}
	// The example must itself be a valid config.
	dec := toml.NewDecoder(strings.NewReader(live))
	dec.DisallowUnknownFields()
	cfg := Default()
	if err := dec.Decode(cfg); err != nil {
		t.Fatalf("the uncommented example does not load: %v", err)
	}
}

type fieldDoc struct {
	goName, key, typ, doc string
}

type typeDoc struct {
	doc    string
	fields []fieldDoc
}

// parseTypes reads the struct types and their doc comments from config/*.go.
func parseTypes(t *testing.T) map[string]typeDoc {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]typeDoc{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				td := typeDoc{doc: cleanDoc(gd.Doc.Text())}
				for _, fld := range st.Fields.List {
					if fld.Tag == nil || len(fld.Names) == 0 {
						continue
					}
					tag := reflect.StructTag(strings.Trim(fld.Tag.Value, "`")).Get("toml")
					key, _, _ := strings.Cut(tag, ",")
					if key == "" || key == "-" {
						continue
					}
					var tb bytes.Buffer
					_ = formatExpr(&tb, fld.Type)
					doc := fld.Doc.Text()
					if doc == "" {
						doc = fld.Comment.Text()
					}
					td.fields = append(td.fields, fieldDoc{goName: fld.Names[0].Name, key: key, typ: tb.String(), doc: cleanDoc(doc)})
				}
				types[ts.Name.Name] = td
			}
		}
	}
	return types
}

func formatExpr(b *bytes.Buffer, e ast.Expr) error {
	switch x := e.(type) {
	case *ast.Ident:
		b.WriteString(x.Name)
	case *ast.ArrayType:
		b.WriteString("[]")
		return formatExpr(b, x.Elt)
	case *ast.MapType:
		b.WriteString("map[")
		_ = formatExpr(b, x.Key)
		b.WriteString("]")
		return formatExpr(b, x.Value)
	case *ast.SelectorExpr:
		_ = formatExpr(b, x.X)
		b.WriteString("." + x.Sel.Name)
	default:
		return fmt.Errorf("unsupported type expression %T", e)
	}
	return nil
}

// cleanDoc joins a doc comment into one line.
func cleanDoc(s string) string { return strings.Join(strings.Fields(s), " ") }

// userDoc rewrites a field comment for readers who never see the Go name:
// "Timeout is the default..." → "The default...", "BodyLimit caps ..." →
// "Caps ...".
func userDoc(goName, doc string) string {
	rest, ok := strings.CutPrefix(doc, goName+" ")
	if !ok {
		return doc
	}
	for _, verb := range []string{"is ", "are "} {
		if r, ok := strings.CutPrefix(rest, verb); ok {
			rest = r
			break
		}
	}
	if rest == "" {
		return doc
	}
	return strings.ToUpper(rest[:1]) + rest[1:]
}

type section struct {
	path   string // "" for the root, "storage.s3"
	doc    string
	leaves []leaf
	array  bool // an array of tables ([[auth.principals]]): no entries by default
}

type leaf struct {
	path, key, typ, doc string
	def                 any
}

// buildReference returns the markdown reference, the commented example,
// and the same example with every setting live (to check that it loads).
func buildReference(t *testing.T) (md, example, live string) {
	types := parseTypes(t)
	var defaults map[string]any
	data, err := toml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal(data, &defaults); err != nil {
		t.Fatal(err)
	}
	var sections []section
	var walk func(typeName, path string, defs map[string]any, array bool)
	walk = func(typeName, path string, defs map[string]any, array bool) {
		td, ok := types[typeName]
		if !ok {
			t.Fatalf("config type %s not found", typeName)
		}
		sec := section{path: path, doc: td.doc, array: array}
		var subs []func()
		for _, f := range td.fields {
			full := f.key
			if path != "" {
				full = path + "." + f.key
			}
			if sub, isStruct := types[f.typ]; isStruct && f.typ != "Duration" && f.typ != "ByteSize" {
				_ = sub
				typ, key := f.typ, full
				subDefs, _ := defs[f.key].(map[string]any)
				subs = append(subs, func() { walk(typ, key, subDefs, false) })
				continue
			}
			if elem, isList := strings.CutPrefix(f.typ, "[]"); isList {
				if _, isStruct := types[elem]; isStruct {
					key := full
					subs = append(subs, func() { walk(elem, key, nil, true) })
					continue
				}
			}
			if f.doc == "" {
				t.Errorf("config field %s.%s (%s) has no doc comment", typeName, f.goName, full)
			}
			sec.leaves = append(sec.leaves, leaf{path: full, key: f.key, typ: f.typ, doc: userDoc(f.goName, f.doc), def: defs[f.key]})
		}
		sections = append(sections, sec)
		for _, s := range subs {
			s()
		}
	}
	walk("Config", "", defaults, false)

	var m, ex, lv strings.Builder
	m.WriteString(mdHeader)
	ex.WriteString(exampleHeader)
	for _, s := range sections {
		title := "top level"
		if s.path != "" {
			title = "[" + s.path + "]"
		}
		if s.array {
			title = "[" + title + "]"
		}
		fmt.Fprintf(&m, "\n## %s\n\n", title)
		if s.doc != "" && s.path != "" {
			fmt.Fprintf(&m, "%s\n\n", s.doc)
		}
		m.WriteString("| key | type | default | environment | meaning |\n|---|---|---|---|---|\n")
		if s.array {
			// Entries are repeated tables; none exist by default, so the
			// example shows one commented out and the live copy none.
			fmt.Fprintf(&m, "Repeat the table for each entry; there is none by default.\n\n")
			fmt.Fprintf(&ex, "\n# [[%s]]\n", s.path)
			for _, l := range s.leaves {
				for _, line := range wrap(l.doc, 76) {
					fmt.Fprintf(&ex, "# %s\n", line)
				}
				fmt.Fprintf(&ex, "# %s = %s\n", l.key, exampleOf(l.typ))
				fmt.Fprintf(&m, "| `%s` | %s | — | — | %s |\n", l.path, typeName(l.typ), strings.ReplaceAll(l.doc, "|", "\\|"))
			}
			continue
		}
		if s.path != "" {
			fmt.Fprintf(&ex, "\n[%s]\n", s.path)
			fmt.Fprintf(&lv, "\n[%s]\n", s.path)
		}
		for _, l := range s.leaves {
			def := tomlValue(t, l.def)
			env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(l.path, ".", "_"))
			if strings.HasPrefix(l.typ, "map[") {
				env = "—"
			}
			shown := def
			if strings.HasPrefix(l.typ, "map[") {
				shown = "{ " + def + " }"
			}
			fmt.Fprintf(&m, "| `%s` | %s | `%s` | `%s` | %s |\n", l.path, typeName(l.typ), shown, env, strings.ReplaceAll(l.doc, "|", "\\|"))
			for _, line := range wrap(l.doc, 76) {
				fmt.Fprintf(&ex, "# %s\n", line)
			}
			if strings.HasPrefix(l.typ, "map[") {
				def = "{ " + def + " }"
			}
			fmt.Fprintf(&ex, "# %s = %s\n", l.key, def)
			fmt.Fprintf(&lv, "%s = %s\n", l.key, def)
		}
	}
	m.WriteString("\n## Example\n\nEvery key with its default, commented out ([`config/lakehouse.example.toml`](../config/lakehouse.example.toml)):\n\n```toml\n")
	m.WriteString(ex.String())
	m.WriteString("```\n")
	return m.String(), ex.String(), lv.String()
}

// exampleOf is a placeholder value of a type, for array-of-table entries.
func exampleOf(goType string) string {
	if goType == "[]string" {
		return "[]"
	}
	return `""`
}

func typeName(goType string) string {
	switch goType {
	case "Duration":
		return "duration"
	case "ByteSize":
		return "size"
	case "[]string":
		return "list of strings"
	case "int", "int64":
		return "integer"
	case "float64":
		return "number"
	}
	if strings.HasPrefix(goType, "map[string]") {
		return "table of " + typeName(strings.TrimPrefix(goType, "map[string]"))
	}
	return goType
}

func tomlValue(t *testing.T, v any) string {
	if v == nil {
		return "[]"
	}
	if mv, ok := v.(map[string]any); ok {
		return strings.Join(mapLines(t, mv), ", ")
	}
	data, err := toml.Marshal(map[string]any{"v": v})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(data), "v = "))
}

func mapLines(t *testing.T, v any) []string {
	mv, _ := v.(map[string]any)
	keys := make([]string, 0, len(mv))
	for k := range mv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%q = %s", k, tomlValue(t, mv[k])))
	}
	return out
}

func wrap(s string, width int) []string {
	var lines []string
	var cur string
	for _, w := range strings.Fields(s) {
		if cur != "" && len(cur)+1+len(w) > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

const mdHeader = `# Configuration reference

<!-- Generated by ` + "`go test ./config -run Reference -update`" + ` from the doc comments of
config/*.go and config.Default(); edit those, not this file. -->

lakehouse reads its configuration in layers, each overriding the one before:

1. built-in defaults (below) — a single box: 127.0.0.1:3110, ./data, local disk, the built-in embedder;
2. a TOML file: ` + "`--config FILE`" + `, else ` + "`./lakehouse.toml`" + `, else ` + "`/etc/lakehouse/lakehouse.toml`" + `;
3. the secrets file named by ` + "`secrets_file`" + ` (or ` + "`LAKEHOUSE_SECRETS_FILE`" + `): same shape, meant for
   tokens and S3 keys kept out of the main file; a warning is printed when group or others can read it;
4. environment variables ` + "`LAKEHOUSE_<SECTION>_<KEY>`" + ` (lists are comma-separated);
5. flags (` + "`--listen`, `--data-dir`, `--modules`" + `).

An unknown key is an error that names the key and the file; every section is
validated and all problems are reported at once. ` + "`lakehouse config print`" + ` shows the
effective result with secrets redacted. Sizes are bytes or a number with a
unit (` + "`64MiB`, `4GiB`, `256MB`" + `); durations are Go durations (` + "`30s`, `10m`" + `).

The auth token: when ` + "`auth.token`" + ` is empty it is read from the environment
variable named by ` + "`auth.token_env`" + ` (default ` + "`AUTH_TOKEN`" + `); a token in the config wins.
`

const exampleHeader = `# lakehouse.toml — every key with its default, commented out.
# Generated from config/*.go (go test ./config -run Reference -update).
# Uncomment and change what you need; unknown keys are rejected.
`
