package catalog_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"lakehouse/modules/catalog"
)

// validTypes are accepted by the grammar, and DuckDB itself accepts each.
var validTypes = []string{
	"BIGINT", "bigint", "INTEGER", "VARCHAR", "VARCHAR(20)", "DOUBLE", "DOUBLE PRECISION", "BOOLEAN",
	"DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "timestamp with time zone",
	"TIME WITH TIME ZONE", "TIMESTAMP_NS", "INTERVAL", "UUID", "BLOB", "HUGEINT", "UBIGINT",
	"DECIMAL", "DECIMAL(18,3)", "NUMERIC(10, 2)", "DECIMAL(38)", "INTEGER[]", "VARCHAR[][]", "DOUBLE[3]",
	"STRUCT(a INTEGER, b VARCHAR)", `STRUCT("odd name" INTEGER, "a""q" VARCHAR[])`,
	"MAP(VARCHAR, BIGINT)", "MAP(VARCHAR, STRUCT(x DOUBLE, y DOUBLE))[]", "UNION(num INTEGER, str VARCHAR)",
	"STRUCT(nested STRUCT(deep INTEGER[]))",
}

var invalidTypes = []string{
	"", " ", "INTEGER) AS x, (SELECT 42) AS injected, CAST(NULL AS INTEGER",
	"INTEGER; DROP TABLE x", "INTEGER -- c", "INTEGER /* c */", "VARCHAR'", "NOTATYPE", "INTEGER INTEGER",
	"DECIMAL(39,1)", "DECIMAL(5,6)", "DECIMAL(0)", "DECIMAL(a)", "VARCHAR(", "INTEGER[", "INTEGER[x]",
	"STRUCT()", "STRUCT(a)", "STRUCT(a INTEGER", "MAP(VARCHAR)", "MAP(VARCHAR, INTEGER, INTEGER)",
	`STRUCT("a INTEGER)`, "INT\x00EGER", "INTEGER\n", "TIMESTAMP WITH ZONE", "ENUM('a')", "BIGINT.x",
	strings.Repeat("STRUCT(a ", 40) + "INTEGER" + strings.Repeat(")", 40), strings.Repeat("X", 2000),
}

func TestValidateTypeAgainstDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, ty := range validTypes {
		if err := catalog.ValidateType(ty); err != nil {
			t.Errorf("%q rejected: %v", ty, err)
			continue
		}
		// The grammar must never accept what DuckDB would not: the type
		// is spliced into CAST(NULL AS <type>).
		if _, err := db.ExecContext(context.Background(), "SELECT CAST(NULL AS "+ty+") AS c"); err != nil {
			t.Errorf("grammar accepts %q but DuckDB does not: %v", ty, err)
		}
	}
	for _, ty := range invalidTypes {
		if err := catalog.ValidateType(ty); err == nil {
			t.Errorf("%q accepted", ty)
		}
	}
}

func TestValidateColumnName(t *testing.T) {
	for _, n := range []string{"id", "Name with spaces", "ü", `quote"d`, "a;b"} {
		if err := catalog.ValidateColumnName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "a\x00b", "tab\t", "nl\n", "del\x7f", "c1\u0085", "bad\xff"} {
		if err := catalog.ValidateColumnName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func FuzzValidateType(f *testing.F) {
	for _, s := range append(validTypes, invalidTypes...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if catalog.ValidateType(s) != nil {
			return
		}
		// Whatever passes holds only type tokens: no statement or
		// comment separators and no string literals.
		if strings.ContainsAny(s, ";'-/*\x00\n\r\t") {
			t.Fatalf("accepted %q", s)
		}
	})
}
