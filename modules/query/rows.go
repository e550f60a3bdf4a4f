package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rowCaps bound one answer: rows (0 = none) and encoded bytes. rowsName
// names the row cap in the truncation reason ("max_rows" or "limit"),
// bytesName the byte cap ("max_result_bytes" or "max_stream_bytes").
type rowCaps struct {
	rows      int
	rowsName  string
	bytes     int
	bytesName string
	// perValue is charged against bytes for every value on top of its
	// encoding when rows are kept as Go values (an interface each), so
	// a million one-digit numbers cost what they cost in memory.
	perValue int
}

func (c rowCaps) rowsReason() string  { return fmt.Sprintf("%s (%d) reached", c.rowsName, c.rows) }
func (c rowCaps) bytesReason() string { return fmt.Sprintf("%s (%d) reached", c.bytesName, c.bytes) }

// jsonRows reads cur and encodes every row as a JSON array (comma
// separated); with keep the encoding is appended to buf and returned,
// without it only counted. each (when not nil) gets every row's values.
// It stops at the end, at the row cap (peeking one more row to tell
// whether any were left), or at the first row that would take the
// answer past the byte cap; reason says why it stopped early ("" = every
// row).
//
// Rows are encoded as they are read, so an answer is never held whole as
// Go values: memory stays within the byte cap plus one row.
func jsonRows(ctx context.Context, cur Cursor, caps rowCaps, keep bool, each func([]driver.Value)) (buf []byte, n int, reason string, err error) {
	vals := make([]driver.Value, len(cur.Columns))
	row := make([]any, len(vals))
	used := 0
	for {
		if err := ctx.Err(); err != nil {
			return buf, n, "", err
		}
		err := cur.Next(vals)
		if errors.Is(err, io.EOF) {
			return buf, n, "", nil
		}
		if err != nil {
			return buf, n, "", err
		}
		if caps.rows > 0 && n == caps.rows {
			return buf, n, caps.rowsReason(), nil
		}
		start := len(buf)
		if !keep {
			start, buf = 0, buf[:0]
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		for i, v := range vals {
			row[i] = v
		}
		buf, err = appendRow(buf, row, cur.Columns, start+(caps.bytes-used-caps.perValue*len(row)))
		if errors.Is(err, errOverBudget) {
			return buf[:start], n, caps.bytesReason(), nil
		}
		if err != nil {
			return buf[:start], n, "", err
		}
		used += len(buf) - start + caps.perValue*len(row)
		if each != nil {
			each(vals)
		}
		n++
	}
}
