package query

import (
	"context"
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"slices"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Grants in SQL. A principal limited to some datasets must find every
// other dataset an unknown table, whichever way the statement reaches for
// it: a join, a subquery, "name@N", the change feed "name@N..M", DESCRIBE
// or SUMMARIZE, a schema- or catalog-qualified name. The statement's
// parse tree lists every table it names (at any depth), so the check is
// made on names before DuckDB binds anything:
//
//   - a name whose dataset (the part before "@") exists must be granted;
//   - any other name must be one of the statement's own CTEs, unqualified;
//     that refuses DuckDB's catalog views (information_schema.*,
//     pg_catalog.*, duckdb_tables, sqlite_master, ...), whose rows would
//     name every dataset, and a file path used as a table ('x.parquet');
//   - functions that take a table's name or SQL text as a string, read
//     files, or list the catalog are refused, since the names they reach
//     are not in the tree (query_table('secret'), read_parquet(path),
//     duckdb_views()); so are SHOW TABLES and its kin.
//
// Principals that see every dataset skip all of this.

// grantDeniedFuncs are refused by name; grantDeniedPrefixes by prefix.
var (
	grantDeniedFuncs = []string{
		"query", "query_table", "glob", "sniff_csv", "table_info", "sql_auto_complete",
		"parquet_scan", "iceberg_scan", "delta_scan", "json_execute_serialized_sql",
	}
	grantDeniedPrefixes = []string{"read_", "parquet_", "duckdb_", "pragma_", "pg_", "sqlite_", "information_schema"}
)

// grantCheck is the restrict gate for the principal in ctx, nil when it
// sees every dataset.
func (s *Service) grantCheck(ctx context.Context) func(serialized) error {
	p := kit.PrincipalOf(ctx)
	if p == nil || p.AllDatasets() {
		return nil
	}
	return func(tree serialized) error { return s.checkGrants(p, tree) }
}

func (s *Service) checkGrants(p *kit.Principal, tree serialized) error {
	for _, kind := range tree.Shows {
		if kind != "DESCRIBE" && kind != "SUMMARY" {
			return fmt.Errorf("%w: SHOW lists the whole catalog; principal %q sees only its granted datasets (GET /v1/sql/tables lists them)", ErrForbidden, p.Name)
		}
	}
	for _, f := range tree.Funcs {
		if slices.Contains(grantDeniedFuncs, f) || hasAnyPrefix(f, grantDeniedPrefixes) {
			return fmt.Errorf("%w: %s() can reach datasets or files beyond principal %q's grants", ErrForbidden, f, p.Name)
		}
	}
	for _, ref := range tree.Refs {
		base, _, _ := strings.Cut(ref.Name, "@")
		if s.views.isDataset(base) {
			if !p.Sees(base) {
				return unknownTable(ref.Name)
			}
			continue
		}
		if ref.Schema == "" && slices.Contains(tree.CTEs, ref.Name) {
			continue
		}
		return unknownTable(ref.Name)
	}
	return nil
}

// unknownTable is the answer DuckDB itself gives for a name it does not
// know, so a grant reveals nothing about what exists beyond it.
func unknownTable(name string) error {
	return kit.Errorf(http.StatusBadRequest, "unknown_table", "unknown table %q (datasets are queried by name; older versions as \"name@N\")", name).
		WithDetails(map[string]any{"table": name})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Reachability is implemented by the query service: whether a statement
// would get past the grants of the principal in ctx, without running it
// (the workbench hides saved queries that name datasets the caller may
// not see).
type Reachability interface {
	Reachable(ctx context.Context, sqlText string) (bool, error)
}

var _ Reachability = (*Service)(nil)

// Reachable implements Reachability: true for a principal that sees every
// dataset; otherwise the statement is parsed (not bound, not run) and its
// tables and functions checked like a query's. A statement that does not
// parse is reachable: running it fails on its own.
func (s *Service) Reachable(ctx context.Context, sqlText string) (bool, error) {
	p := kit.PrincipalOf(ctx)
	if p == nil || p.AllDatasets() {
		return true, nil
	}
	conn, err := s.eng.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("query: connection: %w", err)
	}
	defer conn.Close()
	ok := false
	err = conn.Raw(func(raw any) error {
		dc, isDuck := raw.(*duckdb.Conn)
		if !isDuck {
			return fmt.Errorf("query: not a duckdb connection")
		}
		tree, err := parseTree(ctx, dc, sqlText, true)
		if err != nil {
			return err
		}
		ok = tree.Error || s.checkGrants(p, tree) == nil
		return nil
	})
	return ok, err
}
