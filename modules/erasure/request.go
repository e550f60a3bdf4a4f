package erasure

import (
	"fmt"
	"lakehouse/modules/kit"
	"regexp"
	"sort"
	"strings"
)

// Request is POST /v1/erasure's body.
type Request struct {
	// Match erases rows whose column equals one of the values (compared
	// as text), e.g. {"candidate_id": ["CAND-000123"]}.
	Match map[string][]string `json:"match,omitempty"`
	// Value erases rows holding the text anywhere in a text column
	// (case-insensitive), e.g. an email address.
	Value string `json:"value,omitempty"`
	// Datasets is "all" (the default) or a list of dataset names.
	Datasets any `json:"datasets,omitempty"`
}

// limits of one request: erasure is for people, not bulk deletes.
const (
	maxValues   = 1000
	minValueLen = 3
)

// normalized checks r and returns the datasets it names (nil = all).
func (r *Request) normalized() ([]string, error) {
	n := 0
	for col, vals := range r.Match {
		if strings.TrimSpace(col) == "" {
			return nil, kit.BadRequest("match: a column name is empty")
		}
		if len(vals) == 0 {
			return nil, kit.BadRequest("match: column %q lists no value", col)
		}
		for _, v := range vals {
			if v == "" {
				return nil, kit.BadRequest("match: column %q has an empty value", col)
			}
		}
		n += len(vals)
	}
	if r.Value != "" && len([]rune(strings.TrimSpace(r.Value))) < minValueLen {
		return nil, kit.BadRequest("value: at least %d characters (a shorter text would match far more than one person)", minValueLen)
	}
	if n == 0 && r.Value == "" {
		return nil, kit.BadRequest(`name what to erase: "match": {"column": ["value", ...]} and/or "value": "text"`)
	}
	if n > maxValues {
		return nil, kit.BadRequest("match: %d values; at most %d per request", n, maxValues)
	}
	switch d := r.Datasets.(type) {
	case nil:
		return nil, nil
	case string:
		if d == "all" || d == "" {
			return nil, nil
		}
		return []string{d}, nil
	case []any:
		var out []string
		for _, x := range d {
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, kit.BadRequest(`datasets: "all" or a list of dataset names`)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, kit.BadRequest(`datasets: "all" or a list of dataset names`)
		}
		sort.Strings(out)
		return out, nil
	}
	return nil, kit.BadRequest(`datasets: "all" or a list of dataset names, got %T`, r.Datasets)
}

// values is every value the request erases, for matching outside tables
// (vector items): the match values and the free text.
func (r *Request) values() []string {
	var out []string
	for _, vals := range r.Match {
		out = append(out, vals...)
	}
	if r.Value != "" {
		out = append(out, r.Value)
	}
	return out
}

// matchesItem is the vector-item rule: the id or a metadata value
// equals a match value, or the text holds one as a whole word (so id 12
// does not match "120"), or the text or a metadata value holds the free
// text (case-insensitive).
func (r *Request) matchesItem(id, text string, meta map[string]any) bool {
	for _, vals := range r.Match {
		for _, v := range vals {
			if id == v || containsWord(text, v) {
				return true
			}
			for _, mv := range meta {
				if fmt.Sprint(mv) == v {
					return true
				}
			}
		}
	}
	if r.Value == "" {
		return false
	}
	lv := strings.ToLower(r.Value)
	if strings.Contains(strings.ToLower(text), lv) || strings.Contains(strings.ToLower(id), lv) {
		return true
	}
	for _, mv := range meta {
		if strings.Contains(strings.ToLower(fmt.Sprint(mv)), lv) {
			return true
		}
	}
	return false
}

// containsWord reports whether w occurs in s with no letter or digit
// right before or after it.
func containsWord(s, w string) bool {
	for i := 0; w != ""; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b >= 0x80
}

// erased replaces a value wherever a text keeps it (audit rows, events).
const erased = "[erased]"

// wordPattern is an RE2 pattern matching any match value as a whole word,
// "" when the request has none.
func (r *Request) wordPattern() string {
	var alts []string
	for _, vals := range r.Match {
		for _, v := range vals {
			alts = append(alts, regexp.QuoteMeta(v))
		}
	}
	if len(alts) == 0 {
		return ""
	}
	return `(^|[^0-9A-Za-z_])(` + strings.Join(alts, "|") + `)($|[^0-9A-Za-z_])`
}

// redactText replaces every match value (a whole word) and the free
// text (any case) in s.
func (r *Request) redactText(s string) string {
	if p := r.wordPattern(); p != "" {
		re := regexp.MustCompile(p)
		for {
			out := re.ReplaceAllString(s, "${1}"+erased+"${3}")
			if out == s {
				break
			}
			s = out // adjacent matches share a boundary: go again
		}
	}
	if r.Value != "" {
		s = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(r.Value)).ReplaceAllString(s, erased)
	}
	return s
}
