package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
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
	limits  limits
	scrub   scrubber
	metrics *metrics // nil outside the module
}

// limits bound what one request may cost (the [query] caps).
type limits struct {
	resultBytes  int // json answers and Querier results
	streamBytes  int // ndjson, csv, arrow
	sqlBytes     int
	selectBlocks int
}

var _ Querier = (*Service)(nil)

// Close stops following the catalog and closes the engine.
func (s *Service) Close() error {
	s.views.close()
	return s.eng.Close()
}

// Query implements Querier: one read-only statement, at most limit rows
// (0 or more than the configured cap = the cap) and max_result_bytes,
// the default timeout.
func (s *Service) Query(ctx context.Context, sqlText string, params []any, limit int) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.query(ctx, sqlText, params, limit)
}

// query runs sqlText within ctx's deadline and collects the answer as Go
// values, within the same caps as a json answer.
func (s *Service) query(ctx context.Context, sqlText string, params []any, limit int) (*Result, error) {
	start := time.Now()
	res := &Result{Rows: [][]any{}}
	err := s.withRows(ctx, sqlText, params, func(c Cursor) error {
		res.Columns = c.Columns
		var err error
		caps := s.jsonCaps(limit)
		caps.perValue = goValueBytes
		_, res.RowCount, res.TruncatedReason, err = jsonRows(ctx, c, caps, false, func(vals []driver.Value) {
			row := make([]any, len(vals))
			for i, v := range vals {
				row[i] = jsonValue(v, c.Columns[i].Type)
			}
			res.Rows = append(res.Rows, row)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Truncated = res.TruncatedReason != ""
	res.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// goValueBytes is what a result value costs as a Go value beyond its
// encoding (an interface in a row slice).
const goValueBytes = 16

// encodedAnswer is a json answer whose rows are already encoded.
type encodedAnswer struct {
	columns []Column
	rows    []byte // the row arrays, comma separated
	n       int
	reason  string // why the answer was truncated; "" = complete
}

// queryEncoded runs sqlText and encodes the json answer as it reads it,
// within max_rows (or limit) and max_result_bytes.
func (s *Service) queryEncoded(ctx context.Context, sqlText string, params []any, limit int) (*encodedAnswer, error) {
	a := &encodedAnswer{}
	err := s.withRows(ctx, sqlText, params, func(c Cursor) error {
		a.columns = c.Columns
		var err error
		a.rows, a.n, a.reason, err = jsonRows(ctx, c, s.jsonCaps(limit), true, nil)
		return err
	})
	return a, err
}

// jsonCaps are the caps of a json answer: the request's limit when it is
// below max_rows, and max_result_bytes.
func (s *Service) jsonCaps(limit int) rowCaps {
	c := rowCaps{rows: s.maxRows, rowsName: "max_rows", bytes: s.limits.resultBytes, bytesName: "max_result_bytes"}
	if limit > 0 && limit <= s.maxRows {
		c.rows, c.rowsName = limit, "limit"
	}
	return c
}

// Cursor iterates a result row by row.
type Cursor struct {
	Columns []Column
	rows    driver.Rows
}

// Next fills dst (len(Columns)) with the next row; io.EOF at the end.
func (c Cursor) Next(dst []driver.Value) error { return c.rows.Next(dst) }

// withRows runs sqlText and hands its rows to fn. Params the driver
// cannot bind and result types it cannot read are refused (400) before
// anything runs.
func (s *Service) withRows(ctx context.Context, sqlText string, params []any, fn func(Cursor) error) error {
	if err := checkParams(params); err != nil {
		return err
	}
	return s.withConn(ctx, sqlText, func(dc *duckdb.Conn, st *duckdb.Stmt) error {
		var rows driver.Rows
		var err error
		if st != nil {
			if err := checkReadable(st); err != nil {
				return err
			}
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
	start := time.Now()
	err := s.runConn(ctx, sqlText, fn)
	s.metrics.observe(ctx, start, err)
	return wrapErr(s.scrub.err(userIOError(err, sqlText)), sqlText)
}

var quotedRe = regexp.MustCompile(`"([^"]{2,})"|'([^']{2,})'`)

// userIOError turns an I/O error about a file the statement itself names
// (read_parquet('.../missing.parquet')) into the user's error it is (a
// 400 with DuckDB's message). Any other I/O error is about our own files
// (a view's part gone missing) and stays a 500.
func userIOError(err error, sqlText string) error {
	var de *duckdb.Error
	if err == nil || !errors.As(err, &de) || de.Type != duckdb.ErrorTypeIO {
		return err
	}
	for _, m := range quotedRe.FindAllStringSubmatch(de.Msg, -1) {
		if name := m[1] + m[2]; strings.Contains(sqlText, name) {
			return &duckdb.Error{Type: duckdb.ErrorTypeInvalidInput, Msg: de.Msg}
		}
	}
	return err
}

func (s *Service) runConn(ctx context.Context, sqlText string, fn func(dc *duckdb.Conn, st *duckdb.Stmt) error) error {
	if strings.TrimSpace(sqlText) == "" {
		return ErrEmptySQL
	}
	if s.limits.sqlBytes > 0 && len(sqlText) > s.limits.sqlBytes {
		return kit.Errorf(http.StatusRequestEntityTooLarge, "sql_too_large",
			"sql is %d bytes; at most %d are accepted (query.max_sql_bytes)", len(sqlText), s.limits.sqlBytes).
			WithDetails(map[string]any{"limit": s.limits.sqlBytes, "size": len(sqlText)})
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
		st, err := checkStatement(ctx, dc, sqlText, s.limits.selectBlocks, pin, s.grantCheck(ctx))
		if err == nil {
			return st, release, nil
		}
		m := unknownTableRe.FindStringSubmatch(err.Error())
		// "name@N" of a version retention removed: 410 naming what
		// remains, with eager views too (their DuckDB view is gone).
		if m != nil {
			if xerr := s.views.expired(m[1]); xerr != nil {
				return nil, release, xerr
			}
		}
		if m == nil || attempt >= 4 || !s.views.known(m[1]) {
			return nil, release, err
		}
		if _, _, _, change := parseChangeName(m[1]); change && !lazy {
			// Change views are built on first use, local parts or not.
			r, err := s.views.ensure(ctx, []string{m[1]})
			releases = append(releases, r)
			if err != nil {
				return nil, release, err
			}
			continue
		}
		if !lazy {
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
