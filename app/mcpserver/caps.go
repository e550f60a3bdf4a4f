package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// capKeys name the lists in API answers that hold records (rows, hits,
// traces, datasets, ...): the lists the caps trim. Lists that are one
// value (a vector, a schema, tags) are never cut.
var capKeys = map[string]bool{
	"rows": true, "results": true, "datasets": true, "chain": true, "versions": true,
	"vectors": true, "indexes": true, "events": true, "facets": true, "values": true,
}

// capAnswer trims an answer to at most maxRows items in every record list
// and at most maxChars characters of JSON, and marks a trimmed answer with
// truncated and a hint. One mechanism for every tool, so no tool can flood
// the agent's context.
func capAnswer(out map[string]any, maxRows, maxChars int, hint string) (map[string]any, error) {
	if out == nil {
		return out, nil
	}
	out, err := normalize(out)
	if err != nil {
		return nil, err
	}
	cut := false
	for _, l := range recordLists(out) {
		if len(l.get()) > maxRows {
			l.set(l.get()[:maxRows])
			cut = true
		}
	}
	if cut {
		markTruncated(out, hint)
	}
	size, err := jsonChars(out)
	if err != nil {
		return nil, err
	}
	for size > maxChars {
		// Shrink the list that weighs most, in proportion to the excess.
		var big *listRef
		bigSize := 0
		for _, l := range recordLists(out) {
			if n := len(l.get()); n > 0 {
				if sz, _ := jsonChars(l.get()); sz > bigSize {
					big, bigSize = l, sz
				}
			}
		}
		if big == nil {
			return nil, fmt.Errorf("the answer is %d characters, above the cap of %d, and has no rows left to drop: %s", size, maxChars, hint)
		}
		items := big.get()
		keep := int(float64(len(items)) * float64(maxChars) / float64(size) * 0.9)
		keep = min(max(keep, 0), len(items)-1)
		big.set(items[:keep])
		markTruncated(out, hint)
		if size, err = jsonChars(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func markTruncated(out map[string]any, hint string) {
	out["truncated"] = true
	out["hint"] = "the answer was cut to the MCP caps; " + hint
	if rows, ok := out["rows"].([]any); ok {
		if _, has := out["row_count"]; has {
			out["row_count"] = len(rows)
		}
	}
	if res, ok := out["results"].([]any); ok {
		if _, has := out["count"]; has {
			out["count"] = len(res)
		}
	}
}

// listRef points at one record list inside the answer.
type listRef struct {
	m   map[string]any
	key string
}

func (l *listRef) get() []any  { s, _ := l.m[l.key].([]any); return s }
func (l *listRef) set(s []any) { l.m[l.key] = s }

// recordLists finds the record lists at any depth (facets inside
// describe_dataset, values inside a facet, ...).
func recordLists(v any) []*listRef {
	var refs []*listRef
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if _, isList := child.([]any); isList && capKeys[k] {
					refs = append(refs, &listRef{m: x, key: k})
				}
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(v)
	return refs
}

// normalize turns an answer built in Go (typed slices, structs) into
// plain JSON values, so the caps see every list as []any.
func normalize(v map[string]any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	nullListsToEmpty(out)
	return out, nil
}

// nullListsToEmpty turns a record list the API answered as null (an empty
// Go slice) into [], as the output schemas promise an array.
func nullListsToEmpty(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if child == nil && capKeys[k] {
				x[k] = []any{}
			}
			nullListsToEmpty(child)
		}
	case []any:
		for _, child := range x {
			nullListsToEmpty(child)
		}
	}
}

// jsonChars is the answer's size as the agent sees it: characters of JSON.
func jsonChars(v any) (int, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode answer: %w", err)
	}
	return utf8.RuneCount(data), nil
}
