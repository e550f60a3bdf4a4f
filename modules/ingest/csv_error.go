package ingest

import (
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
)

// ErrBadCSV is matched by every *CSVError.
var ErrBadCSV = kit.NewKind(http.StatusBadRequest, "bad_csv", "bad CSV")

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

// HTTPStatus implements kit.StatusError: bad input is a 400.
func (e *CSVError) HTTPStatus() int { return http.StatusBadRequest }

// ErrorCode implements kit.StatusError.
func (e *CSVError) ErrorCode() string { return "bad_csv" }

// ErrorDetails implements kit.ErrorDetailer: where in the input.
func (e *CSVError) ErrorDetails() map[string]any {
	d := map[string]any{"line": e.Line, "column": e.Column}
	if e.ColumnName != "" {
		d["column_name"] = e.ColumnName
	}
	return d
}
