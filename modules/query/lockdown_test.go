package query

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/config"
)

// TestLockdownRefusesEveryEscape tries each way out of a read-only query
// and expects a 4xx JSON error, then checks nothing was written.
func TestLockdownRefusesEveryEscape(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Query.MemoryLimit = "512MB" })
	addDataset(t, h.cat, h.store, "sales", salesV1)
	objects := filepath.Join(h.cfg.DataDir, "objects")
	datasets := filepath.Join(objects, "datasets")
	// A Parquet file outside the readable directory, and a file in the
	// data dir beside the objects (where the metadata database lives).
	outside := filepath.Join(t.TempDir(), "outside.parquet")
	writeParquet(t, mustLocal(t, filepath.Dir(outside)), "outside.parquet", "SELECT 1 AS x")
	secret := filepath.Join(h.cfg.DataDir, "metadata.duckdb")
	must(t, os.WriteFile(secret, []byte("secret"), 0o600))
	vectors := filepath.Join(objects, "_vectors", "snap.bin")
	must(t, os.MkdirAll(filepath.Dir(vectors), 0o755))
	must(t, os.WriteFile(vectors, []byte("vec"), 0o600))
	part := ""
	for _, vn := range []string{"sales"} {
		m, _ := h.cat.Get(t.Context(), vn)
		part = filepath.Join(objects, m.Files[0].Key)
	}
	q := quoteString
	escapes := []string{
		// files outside the data dir
		`SELECT * FROM read_csv('/etc/passwd')`,
		`SELECT * FROM read_csv_auto('/etc/passwd')`,
		`SELECT * FROM read_text('/etc/passwd')`,
		`SELECT * FROM read_blob('/etc/passwd')`,
		`SELECT * FROM '/etc/passwd'`,
		`SELECT * FROM glob('/etc/*')`,
		`SELECT * FROM read_parquet(` + q(outside) + `)`,
		`SELECT * FROM ` + q(outside),
		`SELECT * FROM read_parquet(` + q(datasets+"/../../"+filepath.Base(filepath.Dir(outside))+"/outside.parquet") + `)`,
		`SELECT * FROM read_text(` + q(datasets+"/../../metadata.duckdb") + `)`,
		`SELECT * FROM read_text(` + q(secret) + `)`,
		`SELECT * FROM read_blob(` + q(vectors) + `)`,
		`SELECT * FROM read_json('/etc/passwd')`,
		// writing files, even inside the readable directory
		`COPY sales TO ` + q(datasets+"/evil.csv"),
		`COPY (SELECT 1) TO ` + q(datasets+"/evil.parquet") + ` (FORMAT parquet)`,
		`COPY (SELECT 1) TO ` + q(part) + ` (FORMAT parquet)`,
		`EXPLAIN ANALYZE COPY (SELECT 1) TO ` + q(datasets+"/evil2.csv"),
		`EXPLAIN (FORMAT json) COPY (SELECT 1) TO ` + q(datasets+"/evil3.csv"),
		`EXPORT DATABASE ` + q(datasets+"/export"),
		`IMPORT DATABASE ` + q(datasets),
		`SELECT * FROM query('COPY (SELECT 1) TO ''` + datasets + `/evil4.csv''')`,
		// other databases
		`ATTACH ':memory:' AS other`,
		`ATTACH ` + q(datasets+"/evil.db") + ` AS other`,
		`ATTACH ` + q(secret) + ` AS meta (READ_ONLY)`,
		`DETACH memory`,
		`USE system`,
		// extensions
		`INSTALL httpfs`,
		`LOAD httpfs`,
		`FORCE INSTALL httpfs FROM core`,
		`LOAD '/tmp/evil.duckdb_extension'`,
		// settings
		`SET threads = 1`,
		`SET GLOBAL memory_limit = '100GB'`,
		`SET enable_external_access = true`,
		`SET lock_configuration = false`,
		`SET allowed_directories = ['/']`,
		`RESET enable_external_access`,
		`PRAGMA threads = 1`,
		`PRAGMA enable_profiling`,
		`SELECT * FROM pragma_set('threads', 1)`,
		// remote URLs (httpfs)
		`SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')`,
		`SELECT * FROM read_parquet('https://example.com/x.parquet')`,
		`SELECT * FROM read_parquet('s3://bucket/x.parquet')`,
		`SELECT * FROM read_csv('hf://datasets/x/y.csv')`,
		`CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')`,
		// writes to the catalog of views
		`CREATE TABLE t AS SELECT 1`,
		`EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1`,
		`CREATE OR REPLACE VIEW sales AS SELECT 1`,
		`DROP VIEW sales`,
		`INSERT INTO sales SELECT * FROM sales`,
		`CREATE MACRO m(x) AS x`,
		`CREATE TEMP TABLE t(x INT)`,
		`CHECKPOINT`,
		`VACUUM`,
		`CALL pragma_version()`,
		`BEGIN TRANSACTION`,
		`PREPARE p AS SELECT 1`,
		`SELECT 1; COPY (SELECT 1) TO ` + q(datasets+"/evil5.csv"),
		`EXPLAIN /* x */ ANALYZE COPY (SELECT 1) TO ` + q(datasets+"/evil6.csv"),
	}
	for _, sql := range escapes {
		status, _, data := h.post(sqlBody(sql))
		if status < 400 || status >= 500 {
			t.Errorf("%s: status %d: %s", sql, status, data)
			continue
		}
		if !strings.Contains(string(data), `"message"`) {
			t.Errorf("%s: not a JSON error: %s", sql, data)
		}
	}
	// Nothing was written, the data and the views are intact.
	entries, err := os.ReadDir(datasets)
	must(t, err)
	for _, e := range entries {
		if e.Name() != "sales" {
			t.Errorf("unexpected file in datasets/: %s", e.Name())
		}
	}
	if a := h.ok(sqlBody(`SELECT count(*) FROM sales`)); a.Rows[0][0] != float64(10) {
		t.Fatalf("sales after escapes: %v", a.Rows)
	}
	// The settings held (read on the engine's own connection: SQL may not
	// read them, see TestConfigurationIsNotReadable).
	var ext, locked bool
	var threads int64
	var mem string
	if err := h.mod.svc.eng.admin.QueryRowContext(context.Background(), `SELECT current_setting('enable_external_access'), current_setting('lock_configuration'),
		current_setting('threads'), current_setting('memory_limit')`).Scan(&ext, &locked, &threads, &mem); err != nil {
		t.Fatal(err)
	}
	if ext || !locked || threads != 2 || mem != "488.2 MiB" {
		t.Fatalf("settings changed: %v %v %v %v", ext, locked, threads, mem)
	}
}

// SQL results are not scrubbed, so functions that read the server's own
// configuration (the data and temp directories' absolute paths, the
// attached databases' files) are refused, however spelled or nested.
func TestConfigurationIsNotReadable(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	for _, sql := range []string{
		`SELECT current_setting('temp_directory')`,
		`SELECT current_setting('allowed_directories')`,
		`SELECT CURRENT_SETTING('home_directory')`,
		`SELECT * FROM duckdb_settings()`,
		`SELECT path FROM duckdb_databases()`,
		`SELECT * FROM duckdb_temporary_files()`,
		`SELECT * FROM duckdb_extensions()`,
		`SELECT * FROM pragma_database_list`,
		`SELECT * FROM PRAGMA_DATABASE_LIST()`,
		`FROM duckdb_settings()`,
		`SELECT (SELECT value FROM duckdb_settings() WHERE name = 'temp_directory') AS x FROM sales`,
		`WITH s AS (SELECT current_setting('temp_directory') AS d) SELECT d FROM s`,
		`EXPLAIN SELECT current_setting('temp_directory')`,
	} {
		status, _, data := h.post(sqlBody(sql))
		if status != 403 || strings.Contains(string(data), h.cfg.DataDir) {
			t.Errorf("%s: status %d: %s", sql, status, data)
		}
	}
	// SHOW and DESCRIBE still work, and name no path.
	for _, sql := range []string{`SHOW TABLES`, `SHOW ALL TABLES`, `DESCRIBE sales`, `SHOW DATABASES`} {
		status, _, data := h.post(sqlBody(sql))
		if status == 200 && strings.Contains(string(data), h.cfg.DataDir) {
			t.Errorf("%s names the data dir: %s", sql, data)
		}
	}
}

// TestReadStatementsAllowed covers every read form the issue lists.
func TestReadStatementsAllowed(t *testing.T) {
	h := newHarness(t, nil)
	addDataset(t, h.cat, h.store, "sales", salesV1)
	for _, sql := range []string{
		`SELECT 1`,
		`WITH x AS (SELECT * FROM sales) SELECT count(*) FROM x`,
		`EXPLAIN SELECT * FROM sales`,
		`EXPLAIN ANALYZE SELECT count(*) FROM sales`,
		`DESCRIBE sales`,
		`DESCRIBE SELECT id FROM sales`,
		`SHOW TABLES`,
		`SHOW sales`,
		`SUMMARIZE sales`,
		`FROM sales LIMIT 1`,
		`VALUES (1, 'a')`,
		`SELECT * FROM read_parquet(` + quoteString(filepath.Join(h.cfg.DataDir, "objects", mustFirstKey(t, h))) + `)`,
	} {
		h.ok(sqlBody(sql))
	}
}

func mustFirstKey(t *testing.T, h *harness) string {
	m, err := h.cat.Get(t.Context(), "sales")
	must(t, err)
	return m.Files[0].Key
}

func TestExplainInner(t *testing.T) {
	for in, want := range map[string]string{
		"EXPLAIN SELECT 1":                     "SELECT 1",
		"  explain analyze\n SELECT 1":         "SELECT 1",
		"EXPLAIN (FORMAT json) SELECT 1":       "SELECT 1",
		"EXPLAIN ANALYZE (FORMAT json) COPY x": "COPY x",
		"EXPLAIN /* c */ SELECT 1":             "",
		"EXPLAIN ('x') SELECT 1":               "",
		"SELECT 1":                             "",
		"EXPLAIN":                              "",
	} {
		got, ok := explainInner(in)
		if got != want || ok != (want != "") {
			t.Errorf("explainInner(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
