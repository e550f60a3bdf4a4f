package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// secretKeys are TOML keys whose values never leave the process.
var secretKeys = map[string]bool{
	"token": true, "secondary_tokens": true, "secret_key": true, "access_key": true, "api_key": true,
}

// Redacted returns a deep copy of c with every secret replaced by
// "<redacted>" (or left empty when unset, so "is it set?" stays visible).
func (c *Config) Redacted() *Config {
	data, err := toml.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("config: marshal: %v", err))
	}
	cp := &Config{}
	if err := toml.Unmarshal(data, cp); err != nil {
		panic(fmt.Sprintf("config: unmarshal: %v", err))
	}
	redact(reflect.ValueOf(cp).Elem())
	return cp
}

func redact(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			redact(f)
		case secretKeys[tag] && f.Kind() == reflect.String && f.String() != "":
			f.SetString("<redacted>")
		case secretKeys[tag] && f.Kind() == reflect.Slice && f.Len() > 0:
			red := make([]string, f.Len())
			for j := range red {
				red[j] = "<redacted>"
			}
			f.Set(reflect.ValueOf(red))
		}
	}
}

// TOML renders the configuration as TOML (call Redacted first to print).
func (c *Config) TOML() (string, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(true)
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("config: encode: %w", err)
	}
	return b.String(), nil
}
