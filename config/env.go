package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment override: LAKEHOUSE_STORAGE_S3_BUCKET
// sets [storage.s3] bucket.
const EnvPrefix = "LAKEHOUSE_"

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// applyEnv sets every field whose LAKEHOUSE_<PATH> variable is present.
// The path joins TOML keys with "_" and upper-cases them.
func applyEnv(cfg *Config, env []string) error {
	fields := map[string]reflect.Value{}
	collectFields(reflect.ValueOf(cfg).Elem(), EnvPrefix, fields)
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		f, known := fields[k]
		if !known {
			continue
		}
		if err := setField(f, v); err != nil {
			return fmt.Errorf("config: env %s: %w", k, err)
		}
	}
	return nil
}

func collectFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" || !sf.IsExported() {
			continue
		}
		name := prefix + strings.ToUpper(tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !implementsText(fv) {
			collectFields(fv, name+"_", out)
			continue
		}
		out[name] = fv
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func implementsText(v reflect.Value) bool {
	return v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler)
}

func setField(f reflect.Value, s string) error {
	if implementsText(f) {
		return f.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Float64, reflect.Float32:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return err
		}
		f.SetFloat(n)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", f.Type())
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment (type %s)", f.Type())
	}
	return nil
}
