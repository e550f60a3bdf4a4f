package query

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzSQLGuard: whatever text arrives, the lock-down either refuses it or
// hands back a prepared SELECT; nothing that reads files, attaches, sets
// or installs gets through, and the gate never panics. The seeds run in a
// normal `go test`.
func FuzzSQLGuard(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/x'", "ATTACH '/tmp/x.db'",
		"SET memory_limit='1TB'", "PRAGMA threads=64", "INSTALL httpfs", "LOAD httpfs", "SELECT 1; DROP TABLE x",
		"EXPLAIN ANALYZE COPY (SELECT 1) TO 'x'", "SELECT range(40000000)", "WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT current_setting('memory_limit')", "CALL pragma_version()", "SELECT * FROM glob('/*')",
		"EXPORT DATABASE '/tmp/x'", "IMPORT DATABASE '/tmp/x'", "CREATE TABLE t AS SELECT 1", "SELECT getenv('HOME')",
		"DESCRIBE SELECT 1", "/* */ SELECT 1 --", "SELECT '\x00'",
	} {
		f.Add(s)
	}
	conn := rawConn(&testing.T{})
	f.Fuzz(func(t *testing.T, sqlText string) {
		if len(sqlText) > 4096 {
			return
		}
		st, err := checkStatement(context.Background(), conn, sqlText, 1000, nil, nil)
		if err != nil {
			if errors.Is(err, ErrForbidden) || errors.Is(err, ErrEmptySQL) || errors.Is(err, ErrMultipleStatements) {
				return
			}
			return // parse and bind errors are the user's
		}
		defer st.Close()
		low := strings.ToLower(sqlText)
		for _, w := range []string{"copy ", "attach ", "install ", "load ", "pragma ", "export database", "import database"} {
			if strings.HasPrefix(strings.TrimSpace(low), w) {
				t.Fatalf("guard passed %q", sqlText)
			}
		}
	})
}
