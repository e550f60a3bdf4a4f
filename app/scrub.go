package app

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pathScrubber removes the server's own absolute paths from error text.
// Errors from the OS, DuckDB or Parquet readers name files by absolute
// path; a client must never learn where the data dir lives, so every
// message passes through here on its way out, whatever produced it.
type pathScrubber struct {
	prefixes []string // longest first, so a data dir under the temp dir wins
}

func newPathScrubber(paths []string) pathScrubber {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		p = filepath.Clean(p)
		if p == "/" || seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
		// Symlinked dirs (macOS /tmp, some container mounts) appear in
		// errors under either name.
		if real, err := filepath.EvalSymlinks(p); err == nil && real != p && !seen[real] {
			seen[real] = true
			out = append(out, real)
		}
	}
	for _, p := range paths {
		add(p)
	}
	add(os.TempDir())
	if wd, err := os.Getwd(); err == nil {
		add(wd)
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(home)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return pathScrubber{prefixes: out}
}

// scrubText replaces every occurrence of a server path (and what follows it
// up to the next separator) with a neutral placeholder.
func (s pathScrubber) scrubText(msg string) string {
	for _, p := range s.prefixes {
		for {
			i := strings.Index(msg, p)
			if i < 0 {
				break
			}
			end := i + len(p)
			// Keep the relative tail (e.g. "datasets/x/part-0.parquet"): it
			// names the object the client asked about, not the server.
			tail := msg[end:]
			tail = strings.TrimPrefix(tail, string(filepath.Separator))
			msg = msg[:i] + tail
		}
	}
	return msg
}

func (s pathScrubber) apply(e *APIError) *APIError {
	if e == nil {
		return e
	}
	out := *e
	out.Message = s.scrubText(e.Message)
	if len(e.Details) > 0 {
		out.Details = make(map[string]any, len(e.Details))
		for k, v := range e.Details {
			if str, ok := v.(string); ok {
				v = s.scrubText(str)
			}
			out.Details[k] = v
		}
	}
	return &out
}
