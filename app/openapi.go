package app

import (
	"encoding/json"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// document records m's route docs against the routes it mounted.
func (t *routeTable) document(m kit.Module) error {
	d, ok := m.(kit.Documented)
	if !ok {
		return nil
	}
	if t.docs == nil {
		t.docs = map[string]kit.RouteDoc{}
	}
	base := "/v1/" + kit.PrefixOf(m)
	for k, doc := range d.RouteDocs() {
		method, rel, _ := strings.Cut(k, " ")
		full := routeKey(method, base+rel)
		if t.owner[full] != m.Name() {
			return fmt.Errorf("server: module %q documents %s, which it does not serve", m.Name(), full)
		}
		t.docs[full] = doc
	}
	return nil
}

// openAPI builds the OpenAPI 3.1 document of every real route of e, once
// everything is mounted.
type openAPI struct {
	once sync.Once
	doc  []byte
}

var (
	paramRe = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	opIDRe  = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// oapiPath turns an echo template into an OpenAPI path and its params.
func oapiPath(p string) (string, []string) {
	var params []string
	out := paramRe.ReplaceAllStringFunc(p, func(s string) string {
		params = append(params, s[1:])
		return "{" + s[1:] + "}"
	})
	if strings.HasSuffix(out, "*") {
		out = strings.TrimSuffix(out, "*") + "{path}"
		params = append(params, "path")
	}
	return out, params
}

// buildOpenAPI reflects the document from the route table.
func buildOpenAPI(e *echo.Echo, t *routeTable) map[string]any {
	r := &reflector{defs: map[string]any{}}
	r.defs["Error"] = r.schema(reflect.TypeFor[struct {
		Error kit.APIError `json:"error"`
	}]())
	paths := map[string]map[string]any{}
	for _, rt := range e.Routes() {
		if rt.Method == echo.RouteNotFound || !t.isRoute(rt.Method, rt.Path) {
			continue
		}
		k := routeKey(rt.Method, rt.Path)
		module := t.owner[k]
		if module == "" {
			module = "server"
		}
		p, params := oapiPath(rt.Path)
		op := map[string]any{
			"operationId": strings.Trim(opIDRe.ReplaceAllString(strings.ToLower(rt.Method)+"_"+rt.Path, "_"), "_"),
			"tags":        []string{module},
		}
		var ps []any
		for _, name := range params {
			ps = append(ps, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		if perm, ok := t.perms[k]; ok {
			// Who may call it: the role, and the parameter naming the
			// dataset whose grant is checked (lakehouse extensions).
			op["x-lakehouse-role"] = perm.Role.String()
			if perm.Dataset != "" {
				op["x-lakehouse-dataset-param"] = perm.Dataset
			}
		}
		doc := t.docs[k]
		if doc.Summary != "" {
			op["summary"] = doc.Summary
		}
		if doc.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": r.schema(reflect.TypeOf(doc.Request))}}}
		}
		status := doc.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if doc.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": r.schema(reflect.TypeOf(doc.Response))}}
		}
		op["responses"] = map[string]any{
			fmt.Sprint(status): ok,
			"default": map[string]any{"description": "error", "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "lakehouse", "version": Version},
		"components": map[string]any{
			"schemas":         r.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{map[string]any{"bearer": []string{}}},
		"paths":    paths,
	}
}

func (o *openAPI) handler(e *echo.Echo, t *routeTable) echo.HandlerFunc {
	return func(c echo.Context) error {
		o.once.Do(func() { o.doc, _ = json.MarshalIndent(buildOpenAPI(e, t), "", "  ") })
		return c.JSONBlob(http.StatusOK, o.doc)
	}
}

// reflector turns Go types into JSON Schema (2020-12, as OpenAPI 3.1
// uses), named structs as shared components.
type reflector struct{ defs map[string]any }

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (r *reflector) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": r.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": r.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return r.object(t)
		}
		name := path.Base(t.PkgPath()) + "." + t.Name()
		if _, ok := r.defs[name]; !ok {
			r.defs[name] = map[string]any{} // placeholder: recursive types
			r.defs[name] = r.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{} // interface{}: any JSON value
}

// object is the schema of a struct's JSON fields (embedded structs
// flattened, omitempty fields optional).
func (r *reflector) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				walk(ft)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = r.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	walk(t)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	return out
}
