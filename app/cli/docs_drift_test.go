package cli

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"lakehouse/config"
)

// TestDocsNameOnlyWhatExists keeps README.md and docs/*.md in step with the
// code in both directions. It fails when a doc names a config key, an HTTP
// route, a CLI command or a CLI flag that does not exist, and when a key, a
// route, a command or a flag is named by no doc.
//
// The sources of truth are the config types (the same ones docs/CONFIG.md is
// generated from), the route table of a server booted with every module, and
// the cobra tree NewRoot builds. What counts as naming something is narrow on
// purpose, so that prose can use the words freely:
//
//   - a command: `lakehouse a b --flag` in a code span or a code-block line
//     (also ./bin/lakehouse, /usr/local/bin/lakehouse, an MCP client's
//     "command"/"args" pair); words after lakehouse are subcommands as long as
//     the command reached has subcommands; `a|b` names both;
//   - a flag: a --flag in such an invocation (it must belong to the command
//     reached), or a code span that starts with --flag (it must belong to some
//     command);
//   - a config key: a code span `section.key` or `section.key = value`,
//     `[section] key`, `[section]`, a LAKEHOUSE_* variable, a key = value line
//     of a toml code block, or the first cell of a "| key |" table under a
//     heading that names `[section]`;
//   - a benchmark: BenchmarkName anywhere (it must be defined; every row of
//     README's "Measured" table must name one);
//   - a route: METHOD /path (METHOD may be GET/PUT, path may hold <param>,
//     {param}, :param, {a,b} alternatives, [optional] parts and a query) in
//     prose, code or a table row with the method and the path in adjacent
//     cells; a bare /v1/... or /iceberg/... path must be a route or the
//     prefix of one.
//
// docs/API.md's generated route table is left out: TestOpenAPICoversEveryRoute
// owns it, and a bare list is not documentation of a route.
func TestDocsNameOnlyWhatExists(t *testing.T) {
	docs := readDocs(t)
	keys := configKeys()
	routes := serverRoutes(t)
	root := NewRoot(io.Discard, io.Discard)

	goSource := goSourceText()

	var errs []string
	errs = append(errs, checkDocConfigKeys(docs, keys, goSource)...)
	errs = append(errs, checkDocBenchmarks(docs, goSource)...)
	errs = append(errs, checkDocRoutes(docs, routes)...)
	errs = append(errs, checkDocCommands(docs, root)...)
	for _, e := range errs {
		t.Error(e)
	}
}

// docAllow lists things the docs name that look like a config key or a
// route but are deliberately something else. Each entry says what it is;
// nothing here may stand for a missing feature.
var docAllow = map[string]string{
	// External APIs the embed providers call.
	"/v1/embeddings": "the OpenAI-compatible embeddings endpoint the openai provider calls",
	// A pattern, not a path: the group every module's routes hang from.
	"/v1/<prefix>": "the /v1 group a module's routes are mounted in",
	// Fields of answers, written the way the answer nests them; the
	// "ingest" object of POST /v1/ingest and the "log" object of
	// GET /v1/pathway/stats happen to share a name with a config section.
	"ingest.format":             "POST /v1/ingest answer field",
	"ingest.format_detected_by": "POST /v1/ingest answer field",
	"ingest.input_bytes":        "POST /v1/ingest answer field",
	"ingest.sheet":              "POST /v1/ingest answer field",
	"ingest.header_row":         "POST /v1/ingest answer field",
	"ingest.change":             "POST /v1/ingest answer field",
	"ingest.passes":             "POST /v1/ingest answer field",
	"ingest.widened":            "POST /v1/ingest answer field",
	"log.replay":                "GET /v1/pathway/stats answer field",
}

// ---------------------------------------------------------------------------
// Reading the docs

// docFile is one markdown file split into what the checks look at.
type docFile struct {
	name  string
	lines []docLine
	spans []docSpan
}

// docLine is one line of a doc; code says it sits in a fenced block of the
// given language ("" for none given).
type docLine struct {
	n         int
	text      string
	code      bool
	lang      string
	generated bool // inside the generated route table of docs/API.md
}

// docSpan is one `code span` outside fenced blocks (it may run over a line
// break, as markdown allows), with \| unescaped: tables escape the pipe.
type docSpan struct {
	n    int
	text string
}

func (d docFile) at(n int) string { return d.name + ":" + strconv.Itoa(n) }

var spanRe = regexp.MustCompile("`([^`]+)`")

// readDocs reads README.md and docs/*.md from the repository root.
func readDocs(t *testing.T) []docFile {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"../../README.md"}, files...)
	var out []docFile
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := docFile{name: strings.TrimPrefix(f, "../../")}
		inCode, lang, generated := false, "", false
		// prose collects the text outside fenced blocks, one paragraph at a
		// time, so that a span broken over two lines is still one span.
		var para []string
		paraStart := 0
		flush := func() {
			text := strings.Join(para, "\n")
			for _, m := range spanRe.FindAllStringSubmatchIndex(text, -1) {
				n := paraStart + strings.Count(text[:m[0]], "\n")
				s := strings.ReplaceAll(text[m[2]:m[3]], "\\|", "|")
				d.spans = append(d.spans, docSpan{n: n, text: strings.Join(strings.Fields(s), " ")})
			}
			para = para[:0]
		}
		for i, line := range strings.Split(string(data), "\n") {
			n := i + 1
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				flush()
				if !inCode {
					lang = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "```"))
				}
				inCode = !inCode
				continue
			}
			if strings.HasPrefix(line, "<!-- routes:begin") {
				generated = true
			}
			if strings.HasPrefix(line, "<!-- routes:end") {
				generated = false
			}
			d.lines = append(d.lines, docLine{n: n, text: line, code: inCode, lang: lang, generated: generated})
			if inCode || generated {
				continue
			}
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "|") {
				// A table row is its own paragraph: cells never share a span.
				flush()
				if strings.HasPrefix(line, "|") {
					paraStart = n
					para = append(para, line)
					flush()
				}
				continue
			}
			if len(para) == 0 {
				paraStart = n
			}
			para = append(para, line)
		}
		flush()
		out = append(out, d)
	}
	return out
}

// ---------------------------------------------------------------------------
// Config keys

// keySet is every config key and section by dotted path, and the
// LAKEHOUSE_* variable of each key.
type keySet struct {
	keys     map[string]bool // "server.body_limit", "data_dir"
	sections map[string]bool // "server", "storage.s3"
	env      map[string]bool // "LAKEHOUSE_SERVER_BODY_LIMIT"
}

// configKeys walks config.Config by its toml tags, the way the loader and
// the generated reference see it: a struct field is a section, anything
// else (Duration and ByteSize are integers, tables are maps) is a key.
func configKeys() keySet {
	ks := keySet{keys: map[string]bool{}, sections: map[string]bool{}, env: map[string]bool{}}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, prefix string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem() // an array of tables: its fields are keys too
			}
			if ft.Kind() == reflect.Struct {
				ks.sections[path] = true
				walk(ft, path)
				continue
			}
			ks.keys[path] = true
			ks.env[config.EnvPrefix+strings.ToUpper(strings.ReplaceAll(path, ".", "_"))] = true
		}
	}
	walk(reflect.TypeOf(config.Config{}), "")
	return ks
}

// topSection is the first part of a dotted path, the part that decides
// whether a span such as `vector.hnsw` is meant as a config key.
func (ks keySet) topSection(path string) bool {
	first, _, _ := strings.Cut(path, ".")
	return ks.sections[first]
}

var (
	dottedKeyRe   = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)(?:\s*=.*)?$`)
	sectionKeyRe  = regexp.MustCompile(`^\[([a-z][a-z0-9_.]*)\](?:\s+([a-z][a-z0-9_]*)(?:\s*=.*)?)?$`)
	envRe         = regexp.MustCompile(`\bLAKEHOUSE_[A-Z0-9_]*[A-Z0-9]`)
	tomlHeaderRe  = regexp.MustCompile(`^\s*\[\[?([a-z][a-z0-9_.]*)\]?\]\s*$`) // [section] or [[array.of.tables]]
	tomlKeyRe     = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*)\s*=`)
	headingSectRe = regexp.MustCompile("^#+ .*`\\[([a-z][a-z0-9_.]*)\\]`")
	keyCellRe     = regexp.MustCompile("^\\|\\s*`([a-z][a-z0-9_]*)`\\s*\\|")
	// fileExtRe marks dotted spans that are file names (catalog.md,
	// lakehouse.example.toml), not keys.
	fileExtRe = regexp.MustCompile(`\.(md|go|toml|json|jsonl|parquet|csv|tsv|txt|bin|xlsx|cc|sh|js|sql|html|db|wal|log)$`)
)

// checkDocConfigKeys: every key a doc names exists, and every key is named.
func checkDocConfigKeys(docs []docFile, ks keySet, goSource string) []string {
	var errs []string
	named := map[string]bool{}
	key := func(where, path string) {
		switch {
		case ks.keys[path]:
			named[path] = true
		case ks.sections[path]:
		case docAllow[path] != "":
		default:
			errs = append(errs, where+": names config key `"+path+"`, which config.Config does not have")
		}
	}
	for _, d := range docs {
		for _, s := range d.spans {
			if m := dottedKeyRe.FindStringSubmatch(s.text); m != nil && ks.topSection(m[1]) && !fileExtRe.MatchString(m[1]) {
				key(d.at(s.n), m[1])
			}
			if m := sectionKeyRe.FindStringSubmatch(s.text); m != nil {
				path := m[1]
				if m[2] != "" {
					path += "." + m[2]
				}
				key(d.at(s.n), path)
			}
		}
		section, tomlSection := "", ""
		for _, l := range d.lines {
			for _, env := range envRe.FindAllString(l.text, -1) {
				if ks.env[env] {
					for k := range ks.keys {
						if config.EnvPrefix+strings.ToUpper(strings.ReplaceAll(k, ".", "_")) == env {
							named[k] = true
						}
					}
					continue
				}
				// Not a config key: it must then be a variable some Go code
				// reads (benchmark sizes and the like), never a made-up one.
				if !strings.Contains(goSource, `"`+env+`"`) {
					errs = append(errs, d.at(l.n)+": names "+env+", which is neither a config key's variable nor read by any Go file")
				}
			}
			if l.code {
				if l.lang != "toml" {
					continue
				}
				if m := tomlHeaderRe.FindStringSubmatch(l.text); m != nil {
					tomlSection = m[1]
					key(d.at(l.n), tomlSection)
				} else if m := tomlKeyRe.FindStringSubmatch(l.text); m != nil {
					path := m[1]
					if tomlSection != "" {
						path = tomlSection + "." + path
					}
					key(d.at(l.n), path)
				}
				continue
			}
			if strings.HasPrefix(l.text, "#") {
				section = ""
				if m := headingSectRe.FindStringSubmatch(l.text); m != nil {
					section = m[1]
				}
				continue
			}
			if section != "" && d.name != "docs/CONFIG.md" {
				if m := keyCellRe.FindStringSubmatch(l.text); m != nil {
					key(d.at(l.n), section+"."+m[1])
				}
			}
		}
	}
	for _, k := range sortedKeys(ks.keys) {
		if !named[k] {
			errs = append(errs, "config key `"+k+"` is named by no doc (docs/CONFIG.md is generated: `go test ./config -run Reference -update`)")
		}
	}
	return errs
}

// goSourceText is every Go file of the module, tests included,
// concatenated: where a LAKEHOUSE_* variable that is not a config key must
// be read (benchmark sizes are read by benchmarks) and where a benchmark a
// doc names must be defined.
func goSourceText() string {
	var b strings.Builder
	_ = filepath.Walk("../..", func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.IsDir() && (strings.HasPrefix(info.Name(), ".") && path != "../.." || info.Name() == "node_modules" || info.Name() == "data") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") {
			if data, err := os.ReadFile(path); err == nil {
				b.Write(data)
			}
		}
		return nil
	})
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Benchmarks

var benchRe = regexp.MustCompile(`\bBenchmark[A-Z][A-Za-z0-9_]*`)

// checkDocBenchmarks: every benchmark a doc names is defined, and every row
// of README's "Measured" table names the benchmark (or the test) that
// reproduces its figures, so a figure can always be rerun.
func checkDocBenchmarks(docs []docFile, goSource string) []string {
	var errs []string
	for _, d := range docs {
		measured := false
		for _, l := range d.lines {
			for _, b := range benchRe.FindAllString(l.text, -1) {
				if !strings.Contains(goSource, "func "+b+"(") {
					errs = append(errs, d.at(l.n)+": names "+b+", which no _test.go file defines")
				}
			}
			if strings.HasPrefix(l.text, "#") {
				measured = d.name == "README.md" && strings.HasPrefix(l.text, "## Measured")
				continue
			}
			if measured && strings.HasPrefix(l.text, "| ") && !strings.HasPrefix(l.text, "| what ") &&
				!benchRe.MatchString(l.text) && !strings.Contains(l.text, "`Test") {
				errs = append(errs, d.at(l.n)+": a measured figure that names no benchmark reproducing it")
			}
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Routes

// route is one mounted route, its path split into segments (":name" a
// parameter, "*" the rest of the path).
type route struct {
	method string
	segs   []string
}

// serverRoutes boots the server with every module, as the OpenAPI test
// does, and returns every real route: the modules', the server's own
// (/health, /v1/session, ...) and none of the web UI's files.
func serverRoutes(t *testing.T) []route {
	srv := bootAllModules(t)
	// A group's catch-all answers every method (Iceberg's spec-shaped
	// 404s): a doc naming a path must not pass by leaning on it.
	catchAll := map[string]bool{}
	for _, r := range srv.Echo.Routes() {
		if r.Method == "PROPFIND" { // only an Any() registration answers it
			catchAll[r.Path] = true
		}
	}
	var out []route
	for _, r := range srv.Echo.Routes() {
		if r.Method == echo.RouteNotFound || catchAll[r.Path] || r.Path == "/" || strings.HasPrefix(r.Path, "/ui/") {
			continue
		}
		out = append(out, route{method: r.Method, segs: splitPath(r.Path)})
	}
	return out
}

func splitPath(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func (r route) String() string { return r.method + " /" + strings.Join(r.segs, "/") }

var (
	methodWord = `(?:GET|PUT|POST|DELETE|HEAD|PATCH)`
	// pathChars is the rest of a path as docs write it: it ends at space,
	// backtick, pipe, comma or closing punctuation, except inside {a,b}
	// alternatives and [optional] parts.
	pathChars = `(?:[^\s` + "`" + `|),;"'\[\]{}]|\{[^}\s]*\}|\[[^\]\s]*\])*`
	// routeRe finds METHOD[/METHOD...] PATH; a path starts with / or with
	// .../… (a suffix of the path named just before it).
	routeRe = regexp.MustCompile(`\b(` + methodWord + `(?:/` + methodWord + `)*)\s+((?:/|\.\.\./|…/)` + pathChars + `)`)
	// cellRouteRe finds a table row whose first cell is the method and
	// whose second holds the paths: | GET | `/v1/x`, `/v1/y` |.
	cellRouteRe = regexp.MustCompile("^\\|\\s*(" + methodWord + "(?:/" + methodWord + ")*)\\s*\\|([^|]*)\\|")
	cellPathRe  = regexp.MustCompile(`(?:^|\s|` + "`" + `)(/` + pathChars + `)`)
	bareRe      = regexp.MustCompile(`(?:/v1/|/iceberg/)` + pathChars)
	braceAltRe  = regexp.MustCompile(`\{([a-z_]+(?:,[a-z_]+)+)\}`)
	optionalRe  = regexp.MustCompile(`\[([^\]]*)\]`)
)

// docPaths expands one path as a doc writes it into the paths it names:
// the query is dropped, {a,b} gives both, [/<id>] gives with and without.
func docPaths(p string) []string {
	p = strings.TrimRight(p, ".:'\"")
	if i := strings.IndexAny(p, "?"); i >= 0 {
		p = p[:i]
	}
	if i := strings.Index(p, "[?"); i >= 0 {
		p = p[:i]
	}
	out := []string{p}
	if m := optionalRe.FindStringSubmatch(p); m != nil {
		out = []string{strings.Replace(p, m[0], "", 1), strings.Replace(p, m[0], m[1], 1)}
	}
	var exp []string
	for _, q := range out {
		if m := braceAltRe.FindStringSubmatch(q); m != nil {
			for _, alt := range strings.Split(m[1], ",") {
				exp = append(exp, strings.Replace(q, m[0], alt, 1))
			}
			continue
		}
		exp = append(exp, q)
	}
	return exp
}

// isPlaceholder says a doc path segment stands for a value: <name>, {name},
// :name or *.
func isPlaceholder(s string) bool {
	return s == "*" || strings.HasPrefix(s, ":") ||
		(strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">")) ||
		(strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"))
}

// segsMatch matches doc segments against route segments from the start.
// A route parameter takes any one segment, a route * takes the rest; a doc
// placeholder matches only a parameter (so `/v1/sql/<x>` does not pass for
// /v1/sql/tables). prefix lets the doc path stop early.
func segsMatch(doc, rt []string, prefix bool) bool {
	for i, rs := range rt {
		if rs == "*" {
			return i < len(doc) || prefix
		}
		if i >= len(doc) {
			return prefix
		}
		if strings.HasPrefix(rs, ":") {
			continue
		}
		if isPlaceholder(doc[i]) || doc[i] != rs {
			return false
		}
	}
	return len(doc) == len(rt)
}

// matchDocPath says whether a doc path names route r. A path starting with
// .../ names the tail of a route; one ending in /... names a prefix.
func matchDocPath(p string, r route, prefix bool) bool {
	if rest, ok := strings.CutPrefix(p, "..."); ok {
		p = "…" + rest
	}
	if strings.HasSuffix(p, "/...") || strings.HasSuffix(p, "/…") {
		p = strings.TrimRight(p, "./…")
		prefix = true
	}
	if rest, ok := strings.CutPrefix(p, "…"); ok {
		tail := splitPath(rest)
		for start := 1; start+len(tail) <= len(r.segs)+1; start++ {
			sub := route{method: r.method, segs: r.segs[start:]}
			if segsMatch(tail, sub.segs, false) {
				return true
			}
		}
		return false
	}
	return segsMatch(splitPath(p), r.segs, prefix)
}

// checkDocRoutes: every route a doc names exists with that method, every
// bare /v1 path is a route or a route's prefix, and every route is named
// with its method somewhere outside the generated table.
func checkDocRoutes(docs []docFile, routes []route) []string {
	var errs []string
	named := map[string]bool{}
	withMethod := func(where, methods, path string) {
		for _, p := range docPaths(path) {
			for _, method := range strings.Split(methods, "/") {
				found := false
				for _, r := range routes {
					if r.method == method && matchDocPath(p, r, false) {
						found = true
						named[r.String()] = true
					}
				}
				if !found {
					errs = append(errs, where+": names route "+method+" "+p+", which the server does not have")
				}
			}
		}
	}
	for _, d := range docs {
		for _, l := range d.lines {
			if l.generated {
				continue
			}
			for _, m := range routeRe.FindAllStringSubmatch(l.text, -1) {
				withMethod(d.at(l.n), m[1], m[2])
			}
			if m := cellRouteRe.FindStringSubmatch(l.text); m != nil {
				for _, p := range cellPathRe.FindAllStringSubmatch(m[2], -1) {
					withMethod(d.at(l.n), m[1], p[1])
				}
			}
			for _, bare := range bareRe.FindAllString(l.text, -1) {
				if _, ok := docAllow[strings.TrimRight(bare, ".,")]; ok {
					continue
				}
				for _, p := range docPaths(bare) {
					found := false
					for _, r := range routes {
						if matchDocPath(p, r, true) {
							found = true
							break
						}
					}
					if !found {
						errs = append(errs, d.at(l.n)+": names path "+p+", which is neither a route nor a route's prefix")
					}
				}
			}
		}
	}
	for _, r := range routes {
		if !named[r.String()] {
			errs = append(errs, "route "+r.String()+" is named by no doc (outside docs/API.md's generated table)")
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// CLI commands and flags

var argsRe = regexp.MustCompile(`"args":\s*\[([^\]]*)\]`)

// checkDocCommands: every `lakehouse ...` invocation names commands and
// flags that exist, every standalone `--flag` is some command's flag, and
// every command and flag is named.
func checkDocCommands(docs []docFile, root *cobra.Command) []string {
	var errs []string
	namedCmd := map[string]bool{}
	namedFlag := map[string]bool{} // "lakehouse ingest --dataset"
	allFlags := map[string][]string{}
	var all []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		eachFlag(c, func(f *pflag.Flag) { allFlags[f.Name] = append(allFlags[f.Name], c.CommandPath()) })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	for _, d := range docs {
		inFile := map[string]bool{} // commands this file names
		var loose []docSpan         // standalone --flag spans of this file
		var invocations []docSpan
		for _, s := range d.spans {
			if strings.HasPrefix(s.text, "--") {
				loose = append(loose, s)
				continue
			}
			invocations = append(invocations, s)
		}
		for i, l := range d.lines {
			if !l.code {
				continue
			}
			if i > 0 && d.lines[i-1].code && len(invocations) > 0 && continues(d.lines[i-1].text, l.text) {
				// A usage written over several lines is one invocation.
				last := &invocations[len(invocations)-1]
				last.text = strings.TrimSuffix(strings.TrimSpace(last.text), "\\") + " " + l.text
				continue
			}
			invocations = append(invocations, docSpan{n: l.n, text: l.text})
			if m := argsRe.FindStringSubmatch(l.text); m != nil {
				// An MCP client's {"command": ".../lakehouse", "args": [...]}.
				var words []string
				for _, w := range strings.Split(m[1], ",") {
					words = append(words, strings.Trim(strings.TrimSpace(w), `"`))
				}
				invocations = append(invocations, docSpan{n: l.n, text: "lakehouse " + strings.Join(words, " ")})
			}
		}
		for _, s := range invocations {
			for _, e := range parseInvocation(root, s.text, func(c *cobra.Command) {
				namedCmd[c.CommandPath()] = true
				inFile[c.CommandPath()] = true
			}, func(c *cobra.Command, flag string) {
				namedFlag[c.CommandPath()+" --"+flag] = true
			}) {
				errs = append(errs, d.at(s.n)+": "+e)
			}
		}
		for _, s := range loose {
			name, _, _ := strings.Cut(strings.Fields(s.text)[0], "=")
			name = strings.TrimPrefix(name, "--")
			owners := allFlags[name]
			if len(owners) == 0 {
				errs = append(errs, d.at(s.n)+": names flag --"+name+", which no lakehouse command has")
				continue
			}
			// A standalone flag documents that flag of every command the
			// same file names.
			for _, o := range owners {
				if inFile[o] {
					namedFlag[o+" --"+name] = true
				}
			}
		}
	}
	// One command mounted at two paths (lakehouse gc and lakehouse catalog
	// gc run the same function) is documented once: a mention of either
	// counts for both.
	twins := map[uintptr][]string{}
	for _, c := range all {
		if p := runPointer(c); p != 0 {
			twins[p] = append(twins[p], c.CommandPath())
		}
	}
	named := func(c *cobra.Command, suffix string) bool {
		paths := twins[runPointer(c)]
		if runPointer(c) == 0 {
			paths = []string{c.CommandPath()}
		}
		for _, p := range paths {
			if suffix == "" && namedCmd[p] || suffix != "" && namedFlag[p+suffix] {
				return true
			}
		}
		return false
	}
	for _, c := range all {
		if c == root {
			continue
		}
		if !named(c, "") {
			errs = append(errs, "command `"+c.CommandPath()+"` is named by no doc")
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !named(c, " --"+f.Name) {
				errs = append(errs, "flag `"+c.CommandPath()+" --"+f.Name+"` is named by no doc")
			}
		})
	}
	// The root's persistent flags belong to every command: one mention of
	// each with any command is enough.
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		for k := range namedFlag {
			if strings.HasSuffix(k, " --"+f.Name) {
				return
			}
		}
		errs = append(errs, "flag `--"+f.Name+"` is named by no doc")
	})
	return errs
}

// continues says whether a code line carries on the command of the line
// before: a shell continuation, or a usage line that goes on with options.
func continues(prev, line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasSuffix(strings.TrimSpace(prev), "\\") || strings.HasPrefix(t, "[-") || strings.HasPrefix(t, "--")
}

// runPointer is the code address of the function a command runs (0 for a
// command that only groups others): the same for every command built by
// the same constructor.
func runPointer(c *cobra.Command) uintptr {
	switch {
	case c.RunE != nil:
		return reflect.ValueOf(c.RunE).Pointer()
	case c.Run != nil:
		return reflect.ValueOf(c.Run).Pointer()
	}
	return 0
}

// eachFlag visits the flags c accepts: its own and the inherited ones.
func eachFlag(c *cobra.Command, fn func(*pflag.Flag)) {
	c.LocalFlags().VisitAll(fn)
	c.InheritedFlags().VisitAll(fn)
}

// lookupFlag finds a flag c accepts by long name.
func lookupFlag(c *cobra.Command, name string) *pflag.Flag {
	if f := c.LocalFlags().Lookup(name); f != nil {
		return f
	}
	return c.InheritedFlags().Lookup(name)
}

// parseInvocation reads every `lakehouse ...` in text: subcommands while the
// command reached has them, then arguments and flags. It reports each
// command and flag named through onCmd and onFlag, and returns what does
// not exist.
func parseInvocation(root *cobra.Command, text string, onCmd func(*cobra.Command), onFlag func(*cobra.Command, string)) []string {
	words := strings.Fields(strings.ReplaceAll(text, `\n`, " "))
	for i, w := range words {
		if strings.HasPrefix(w, "#") {
			words = words[:i] // a shell comment
			break
		}
	}
	var errs []string
	for i := range words {
		if !invokesBinary(words, i) {
			continue
		}
		cur := root
		subs := true
		depth := 0 // inside [...] or (...) a | separates alternatives
		for j := i + 1; j < len(words); j++ {
			raw := words[j]
			if raw == "|" && depth > 0 {
				continue
			}
			if raw == "|" || raw == "&&" || raw == "||" || raw == ";" || strings.HasPrefix(raw, ">") || strings.HasPrefix(raw, "2>") {
				break
			}
			depth += strings.Count(raw, "[") + strings.Count(raw, "(") - strings.Count(raw, "]") - strings.Count(raw, ")")
			tok := strings.Trim(raw, "[]()\"',")
			if tok == "" {
				continue
			}
			if strings.HasPrefix(tok, "--") {
				name, _, hasValue := strings.Cut(strings.TrimPrefix(tok, "--"), "=")
				f := lookupFlag(cur, name)
				if f == nil {
					errs = append(errs, "names `"+cur.CommandPath()+" --"+name+"`, a flag that command does not have")
					continue
				}
				onFlag(cur, name)
				if !hasValue && f.Value.Type() != "bool" && j+1 < len(words) && !strings.HasPrefix(strings.Trim(words[j+1], "[]()"), "-") {
					j++ // the flag's value
				}
				continue
			}
			if strings.HasPrefix(tok, "-") {
				continue // a short flag or a dash: not checked
			}
			if !subs || !cur.HasSubCommands() {
				subs = false
				continue
			}
			var next *cobra.Command
			for _, alt := range strings.Split(tok, "|") {
				sub := findSub(cur, alt)
				if sub == nil {
					if cur.Runnable() {
						// A runnable command's argument, not a subcommand.
						subs = false
						break
					}
					errs = append(errs, "names `"+cur.CommandPath()+" "+alt+"`, a command that does not exist")
					continue
				}
				onCmd(sub)
				if next == nil {
					next = sub
				}
			}
			if next != nil {
				cur = next
			} else {
				subs = false
			}
		}
		if cur != root {
			onCmd(cur)
		}
	}
	return errs
}

// invokesBinary says whether words[i] runs the binary: a path ending in
// /lakehouse, or a bare lakehouse that starts the command line (after
// environment assignments, $, sudo or exec). A bare lakehouse elsewhere is a
// name (an MCP server's, a unit's), not an invocation.
func invokesBinary(words []string, i int) bool {
	w := words[i]
	if strings.HasSuffix(w, "/lakehouse") {
		return !strings.Contains(w, "://")
	}
	if w != "lakehouse" {
		return false
	}
	for j := i - 1; j >= 0; j-- {
		p := words[j]
		if strings.HasSuffix(p, "exec") {
			return true
		}
		if p == "$" || p == "sudo" || strings.Contains(p, "=") {
			continue
		}
		return false
	}
	return true
}

func findSub(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}
