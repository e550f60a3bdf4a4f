// Package jsonx holds JSON checks that several modules share: a nesting
// depth cap applied to request bodies before anything is decoded or
// stored, and a depth-free way to find one member's bytes in a record
// (encoding/json refuses more than 10 000 levels, so a value that fits
// the decoder alone may not fit once it is wrapped in a record).
package jsonx

import (
	"errors"
	"fmt"
)

// DefaultMaxDepth is the nesting cap used when a configuration gives none.
const DefaultMaxDepth = 512

// DecoderMaxDepth is encoding/json's own nesting limit; a stored value
// must stay well below it so the record around it still decodes.
const DecoderMaxDepth = 10000

// ErrTooDeep is matched (errors.Is) by every *DepthError.
var ErrTooDeep = errors.New("JSON nested too deeply")

// DepthError says where a document first nests deeper than its cap.
type DepthError struct {
	// Max is the cap that was exceeded.
	Max int
	// Offset is the byte offset of the bracket that went one level too deep.
	Offset int64
}

// Error implements error.
func (e *DepthError) Error() string {
	return fmt.Sprintf("JSON nests deeper than %d levels (at byte %d)", e.Max, e.Offset)
}

// Is makes errors.Is(err, ErrTooDeep) true.
func (e *DepthError) Is(target error) bool { return target == ErrTooDeep }

// CheckDepth returns a *DepthError when data nests objects and arrays
// more than limit levels deep (limit <= 0 means DefaultMaxDepth). It only
// counts brackets outside strings and does not validate: run it before
// decoding, so a too-deep body costs one linear scan and nothing else.
func CheckDepth(data []byte, limit int) error {
	if limit <= 0 {
		limit = DefaultMaxDepth
	}
	if _, at := scanDepth(data, limit); at >= 0 {
		return &DepthError{Max: limit, Offset: int64(at)}
	}
	return nil
}

// Depth returns the deepest nesting of objects and arrays in data (0 for
// a scalar), with the same scan as CheckDepth.
func Depth(data []byte) int {
	deepest, _ := scanDepth(data, 0)
	return deepest
}

// scanDepth is the one bracket scan behind CheckDepth and Depth: it counts
// brackets outside strings and returns the deepest nesting seen and, when
// limit > 0, the offset of the first bracket past limit (the scan stops
// there), else -1.
func scanDepth(data []byte, limit int) (deepest, over int) {
	depth := 0
	inStr, esc := false, false
	for i, c := range data {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
			if limit > 0 && depth > limit {
				return deepest, i
			}
		case '}', ']':
			depth--
		}
	}
	return deepest, -1
}

// Member finds the value of key in the JSON object obj and returns its
// byte range [start, end). It walks only the object's own members (nested
// values are skipped by bracket counting, without a depth limit), so it
// works on records encoding/json refuses. obj must be valid JSON (e.g. a
// line this program wrote); ok is false when obj is not an object or has
// no such key. Keys are compared as their raw bytes between the quotes.
func Member(obj []byte, key string) (start, end int, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return 0, 0, false
		}
		ks := i + 1
		ke := skipString(obj, i)
		if ke < 0 {
			return 0, 0, false
		}
		k := obj[ks : ke-1]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return 0, 0, false
		}
		vs := skipSpace(obj, i+1)
		ve := skipValue(obj, vs)
		if ve < 0 {
			return 0, 0, false
		}
		if string(k) == key {
			return vs, ve, true
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) || obj[i] != ',' {
			return 0, 0, false
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1 when it does not end.
func skipString(b []byte, i int) int {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch {
		case esc:
			esc = false
		case b[j] == '\\':
			esc = true
		case b[j] == '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := skipString(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
