package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/duckdb/duckdb-go/v2"

	"lakehouse/migrations"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "meta.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFreshDatabaseGetsAllThenNoOp(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	all, err := migrations.Load(migrations.FS())
	if err != nil || len(all) == 0 {
		t.Fatalf("load: %v (%d)", err, len(all))
	}
	ran, err := migrations.Up(ctx, db, migrations.FS())
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != len(all) {
		t.Fatalf("applied %d, want %d", len(ran), len(all))
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations rows %d err %v", n, err)
	}
	if _, err := db.Exec(`SELECT name, dataset_id FROM datasets`); err != nil {
		t.Fatalf("catalog table missing: %v", err)
	}
	ran, err = migrations.Up(ctx, db, migrations.FS())
	if err != nil || len(ran) != 0 {
		t.Fatalf("second run applied %d, err %v", len(ran), err)
	}
	sts, err := migrations.Check(ctx, db, migrations.FS())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Fatalf("%s not recorded as applied", s.Name)
		}
	}
}

func TestTamperedMigrationRefused(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	v1 := fstest.MapFS{"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")}}
	if _, err := migrations.Up(ctx, db, v1); err != nil {
		t.Fatal(err)
	}
	tampered := fstest.MapFS{"0001_a.sql": {Data: []byte("CREATE TABLE a (x BIGINT);")}}
	_, err := migrations.Up(ctx, db, tampered)
	if err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
		t.Fatalf("tampered migration: err = %v", err)
	}
	if _, err := migrations.Check(ctx, db, fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("unknown applied migration: err = %v", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	bad := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER); SELECT * FROM nope;")},
	}
	if _, err := migrations.Up(ctx, db, bad); err == nil {
		t.Fatal("want error from 0002")
	}
	if _, err := db.Exec(`SELECT * FROM b`); err == nil {
		t.Fatal("table b exists: 0002 was not rolled back")
	}
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	if n != 1 {
		t.Fatalf("schema_migrations has %d rows, want 1", n)
	}
}
