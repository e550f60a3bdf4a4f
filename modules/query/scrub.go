package query

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"lakehouse/app"
)

// scrubber removes the server's own directories from error text. DuckDB
// names files by absolute path (a view's Parquet part that went missing,
// the spill directory in an out-of-memory message); a client must learn
// the object ("datasets/sales/part.parquet"), never where the data dir
// lives.
type scrubber struct {
	prefixes []string // longest first, so the object root wins over the data dir
}

// newScrubber scrubs each dir under every name it may appear as: as
// given, absolute, and with symlinks resolved.
func newScrubber(dirs ...string) scrubber {
	var out []string
	add := func(p string) {
		if p == "" || p == "." || p == string(filepath.Separator) || slices.Contains(out, p) {
			return
		}
		out = append(out, p)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		d = filepath.Clean(d)
		add(d)
		if abs, err := filepath.Abs(d); err == nil {
			add(abs)
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				add(real)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return scrubber{prefixes: out}
}

// text replaces every server directory (and the separator after it) by
// nothing, keeping the relative rest of the path.
func (s scrubber) text(msg string) string {
	for _, p := range s.prefixes {
		if !strings.Contains(msg, p) {
			continue
		}
		msg = strings.ReplaceAll(msg, p+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, p, ".")
	}
	return msg
}

func (s scrubber) dirty(msg string) bool {
	for _, p := range s.prefixes {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// err returns err with its text scrubbed; errors.Is and errors.As still
// see through it (a DuckDB error or an API error comes out scrubbed).
func (s scrubber) err(err error) error {
	if err == nil || !s.dirty(err.Error()) {
		return err
	}
	return &scrubbedError{err: err, s: s}
}

type scrubbedError struct {
	err error
	s   scrubber
}

func (e *scrubbedError) Error() string { return e.s.text(e.err.Error()) }
func (e *scrubbedError) Unwrap() error { return e.err }

// As hands out scrubbed copies of the errors APIError inspects.
func (e *scrubbedError) As(target any) bool {
	switch t := target.(type) {
	case **duckdb.Error:
		var de *duckdb.Error
		if errors.As(e.err, &de) {
			*t = &duckdb.Error{Type: de.Type, Msg: e.s.text(de.Msg)}
			return true
		}
	case **ParseError:
		var pe *ParseError
		if errors.As(e.err, &pe) {
			c := *pe
			c.Msg = e.s.text(pe.Msg)
			*t = &c
			return true
		}
	case **app.APIError:
		var ae *app.APIError
		if errors.As(e.err, &ae) {
			c := *ae
			c.Message = e.s.text(ae.Message)
			c.Details = make(map[string]any, len(ae.Details))
			for k, v := range ae.Details {
				if str, ok := v.(string); ok {
					v = e.s.text(str)
				}
				c.Details[k] = v
			}
			*t = &c
			return true
		}
	}
	return false
}
