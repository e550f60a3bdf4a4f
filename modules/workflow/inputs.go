package workflow

import (
	"encoding/json"
	"fmt"
	"math"
)

// Inputs are a node's resolved inputs: JSON-shaped values (strings,
// float64, bool, []any, map[string]any). The getters convert and explain
// what is wrong in an error a client can act on.
type Inputs map[string]any

// String returns a required string input.
func (in Inputs) String(key string) (string, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return "", fmt.Errorf("input %q is required", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("input %q must be a string, got %s", key, kind(v))
	}
	return s, nil
}

// OptString returns a string input or def when absent.
func (in Inputs) OptString(key, def string) (string, error) {
	if v, ok := in[key]; !ok || v == nil {
		return def, nil
	}
	return in.String(key)
}

// Int returns an integer input or def when absent.
func (in Inputs) Int(key string, def int) (int, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return def, nil
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, fmt.Errorf("input %q must be an integer, got %s", key, kind(v))
	}
	return int(f), nil
}

// Strings returns a list of strings; a single string is a list of one.
func (in Inputs) Strings(key string) ([]string, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return nil, fmt.Errorf("input %q is required", key)
	}
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			switch s := e.(type) {
			case string:
				out[i] = s
			case float64, bool:
				out[i] = fmt.Sprint(s)
			default:
				return nil, fmt.Errorf("input %q[%d] must be a string, got %s", key, i, kind(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("input %q must be a string or a list of strings, got %s", key, kind(v))
}

// Vector returns a list of numbers as float32.
func (in Inputs) Vector(key string) ([]float32, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return nil, fmt.Errorf("input %q is required", key)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("input %q must be a list of numbers, got %s", key, kind(v))
	}
	out := make([]float32, len(arr))
	for i, e := range arr {
		f, ok := e.(float64)
		if !ok {
			return nil, fmt.Errorf("input %q[%d] must be a number, got %s", key, i, kind(e))
		}
		out[i] = float32(f)
	}
	return out, nil
}

// Object returns an object input (nil when absent).
func (in Inputs) Object(key string) (map[string]any, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("input %q must be an object, got %s", key, kind(v))
	}
	return m, nil
}

// Raw returns an input re-encoded as JSON (nil when absent).
func (in Inputs) Raw(key string) (json.RawMessage, error) {
	v, ok := in[key]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", key, err)
	}
	return b, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
