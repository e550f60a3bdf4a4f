package query

import (
	"errors"
	"lakehouse/modules/kit"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// scrubber is the server's one path scrubber (kit.PathScrubber), with
// the error wrapping the SQL module needs: DuckDB names files by absolute
// path (a view's missing part, the spill directory in an out-of-memory
// message), and errors are scrubbed before they are classified.
type scrubber struct{ kit.PathScrubber }

func newScrubber(dirs ...string) scrubber { return scrubber{kit.NewPathScrubber(dirs...)} }

func (s scrubber) text(msg string) string { return s.Text(msg) }

// err returns err with its text scrubbed; errors.Is and errors.As still
// see through it (a DuckDB error or an API error comes out scrubbed).
func (s scrubber) err(err error) error {
	if err == nil || !s.Dirty(err.Error()) {
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
	case **kit.APIError:
		var ae *kit.APIError
		if errors.As(e.err, &ae) {
			*t = e.s.APIError(ae)
			return true
		}
	}
	return false
}
