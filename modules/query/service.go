package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Service runs user SQL on the engine's pool. It implements Querier.
type Service struct {
	eng     *Engine
	views   *views
	cache   *partCache // nil with local storage
	maxRows int
	timeout time.Duration
	maxTime time.Duration
}

var _ Querier = (*Service)(nil)

// Close stops following the catalog and closes the engine.
func (s *Service) Close() error {
	s.views.close()
	return s.eng.Close()
}

// Query implements Querier: one read-only statement, at most limit rows
// (0 or more than the configured cap = the cap), the default timeout.
func (s *Service) Query(ctx context.Context, sqlText string, params []any, limit int) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.query(ctx, sqlText, params, limit)
}

// query runs sqlText within ctx's deadline and buffers the json answer.
func (s *Service) query(ctx context.Context, sqlText string, params []any, limit int) (*Result, error) {
	start := time.Now()
	var res *Result
	err := s.withRows(ctx, sqlText, params, func(c Cursor) error {
		var err error
		res, err = collect(ctx, c, s.capRows(limit))
		return err
	})
	if err != nil {
		return nil, err
	}
	res.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// capRows applies the json row cap.
func (s *Service) capRows(limit int) int {
	if limit <= 0 || limit > s.maxRows {
		return s.maxRows
	}
	return limit
}

// Cursor iterates a result row by row.
type Cursor struct {
	Columns []Column
	rows    driver.Rows
}

// Next fills dst (len(Columns)) with the next row; io.EOF at the end.
func (c Cursor) Next(dst []driver.Value) error { return c.rows.Next(dst) }

// collect buffers at most limit rows, peeking one more to set Truncated.
func collect(ctx context.Context, c Cursor, limit int) (*Result, error) {
	res := &Result{Columns: c.Columns, Rows: [][]any{}}
	vals := make([]driver.Value, len(c.Columns))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := c.Next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(res.Rows) == limit {
			res.Truncated = true
			break
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = jsonValue(v, c.Columns[i].Type)
		}
		res.Rows = append(res.Rows, row)
	}
	res.RowCount = len(res.Rows)
	return res, nil
}

// withRows runs sqlText and hands its rows to fn.
func (s *Service) withRows(ctx context.Context, sqlText string, params []any, fn func(Cursor) error) error {
	return s.withConn(ctx, sqlText, func(dc *duckdb.Conn, st *duckdb.Stmt) error {
		var rows driver.Rows
		var err error
		if st != nil {
			rows, err = st.QueryContext(ctx, namedArgs(params))
		} else {
			rows, err = dc.QueryContext(ctx, sqlText, namedArgs(params))
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		cols := rows.Columns()
		c := Cursor{Columns: make([]Column, len(cols)), rows: rows}
		typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
		for i, n := range cols {
			c.Columns[i].Name = n
			if typed != nil {
				c.Columns[i].Type = typed.ColumnTypeDatabaseTypeName(i)
			}
		}
		return fn(c)
	})
}

// withConn takes a pooled connection, makes sure the datasets the query
// names have views (and, on S3, their parts cached and pinned), refuses
// anything but a single read statement, then runs fn.
//
// A connection whose query was interrupted or failed inside DuckDB in an
// unexpected way is discarded rather than returned to the pool, so one bad
// query cannot poison the next.
//
// fn gets the statement the lock-down prepared (nil for EXPLAIN), to run
// without binding it again; withConn closes it.
func (s *Service) withConn(ctx context.Context, sqlText string, fn func(dc *duckdb.Conn, st *duckdb.Stmt) error) error {
	if strings.TrimSpace(sqlText) == "" {
		return ErrEmptySQL
	}
	conn, err := s.eng.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query: connection: %w", err)
	}
	defer conn.Close()
	var runErr error
	rawErr := conn.Raw(func(raw any) error {
		dc, ok := raw.(*duckdb.Conn)
		if !ok {
			runErr = errors.New("query: not a duckdb connection")
			return runErr
		}
		st, release, err := s.admit(ctx, dc, sqlText)
		defer release()
		if err != nil {
			runErr = err
			return nil
		}
		if st != nil {
			defer st.Close()
		}
		runErr = fn(dc, st)
		if runErr != nil && (ctx.Err() != nil || isInterrupt(runErr)) {
			return driver.ErrBadConn // drop this connection from the pool
		}
		return nil
	})
	if runErr != nil {
		return runErr
	}
	if rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
		return rawErr
	}
	return nil
}

// admit runs the lock-down gates and makes sure the views the query
// names exist (with the S3 cache: parts fetched and pinned until release).
// With local parts every view exists already. Lazily built views are
// unknown to DuckDB until built, so a binder error naming a dataset gets
// the view built and the gates run again (a few times at most).
func (s *Service) admit(ctx context.Context, dc *duckdb.Conn, sqlText string) (*duckdb.Stmt, func(), error) {
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	lazy := s.views.src.Lazy()
	// Pin every dataset the statement names before DuckDB binds it (an
	// evicted part is fetched again; a new version's view is rebuilt).
	var pin func([]string) error
	if lazy {
		pin = func(tables []string) error {
			r, err := s.views.ensure(ctx, tables)
			releases = append(releases, r)
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		st, err := checkStatement(ctx, dc, sqlText, pin)
		if err == nil || !lazy {
			return st, release, err
		}
		m := unknownTableRe.FindStringSubmatch(err.Error())
		if m == nil || attempt >= 4 || !s.views.known(m[1]) {
			return nil, release, err
		}
		if err := pin([]string{m[1]}); err != nil {
			return nil, release, err
		}
	}
}

var unknownTableRe = regexp.MustCompile(`Table with name (.+?) does not exist`)

// namedArgs turns positional params into driver arguments ($1, $2 / ?).
func namedArgs(params []any) []driver.NamedValue {
	out := make([]driver.NamedValue, len(params))
	for i, p := range params {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: p}
	}
	return out
}

// ErrEmptySQL is returned for an empty statement (400).
var ErrEmptySQL = errors.New("sql is empty")

func isInterrupt(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeInterrupt
}
