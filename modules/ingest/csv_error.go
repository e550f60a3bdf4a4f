package ingest

import (
	"errors"
	"fmt"
)

// ErrBadCSV is matched by every *CSVError.
var ErrBadCSV = errors.New("bad CSV")

// CSVError is a problem in the input at a position: Line is the 1-based
// physical line (the header is line 1; quoted newlines count), Column the
// 1-based field number.
type CSVError struct {
	Line       int64
	Column     int
	ColumnName string
	Msg        string
}

// Error implements error.
func (e *CSVError) Error() string {
	if e.ColumnName != "" {
		return fmt.Sprintf("line %d, column %d (%s): %s", e.Line, e.Column, e.ColumnName, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Is makes errors.Is(err, ErrBadCSV) true.
func (e *CSVError) Is(target error) bool { return target == ErrBadCSV }
