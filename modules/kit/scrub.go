package kit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PathScrubber removes the server's own directories from text. Errors
// from the OS, DuckDB or Parquet readers name files by absolute path; a
// client must learn the object ("datasets/sales/part.parquet"), never
// where the data dir lives, so every message passes through one of these
// on its way out (the server's error answer, and the SQL module, which
// scrubs DuckDB's errors before it classifies them). It is the one
// scrubber: the same rule everywhere.
type PathScrubber struct {
	prefixes []string // longest first, so the object root wins over the data dir
}

// NewPathScrubber scrubs each dir under every name it may appear as (as
// given, absolute, with symlinks resolved — macOS /tmp, container
// mounts), plus the temp dir, the working dir and the home dir.
func NewPathScrubber(dirs ...string) PathScrubber {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		p = filepath.Clean(p)
		if p == "." || p == string(filepath.Separator) || slices.Contains(out, p) {
			return
		}
		out = append(out, p)
	}
	all := append(slices.Clone(dirs), os.TempDir())
	if wd, err := os.Getwd(); err == nil {
		all = append(all, wd)
	}
	if home, err := os.UserHomeDir(); err == nil {
		all = append(all, home)
	}
	for _, d := range all {
		if d == "" {
			continue
		}
		add(d)
		if abs, err := filepath.Abs(d); err == nil {
			add(abs)
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				add(real)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return PathScrubber{prefixes: out}
}

// Text removes every server directory with the separator after it,
// keeping the relative rest of the path (the object the client asked
// about); a directory named alone becomes ".".
func (s PathScrubber) Text(msg string) string {
	for _, p := range s.prefixes {
		if !strings.Contains(msg, p) {
			continue
		}
		msg = strings.ReplaceAll(msg, p+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, p, ".")
	}
	return msg
}

// Dirty reports whether msg names a server directory.
func (s PathScrubber) Dirty(msg string) bool {
	for _, p := range s.prefixes {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// APIError returns a copy of e with its message and text details scrubbed.
func (s PathScrubber) APIError(e *APIError) *APIError {
	if e == nil {
		return e
	}
	out := *e
	out.Message = s.Text(e.Message)
	if len(e.Details) > 0 {
		out.Details = make(map[string]any, len(e.Details))
		for k, v := range e.Details {
			if str, ok := v.(string); ok {
				v = s.Text(str)
			}
			out.Details[k] = v
		}
	}
	return &out
}
