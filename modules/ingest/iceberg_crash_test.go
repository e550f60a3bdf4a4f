package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog/iceberg"
	"lakehouse/modules/storage"
)

// icebergHead is the catalog version a dataset's Iceberg table holds.
func icebergHead(t *testing.T, data, name string) int {
	t.Helper()
	st, err := storage.OpenLocal(filepath.Join(data, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	tabs, err := iceberg.New(st, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tabs.Head(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A kill -9 between publishing the parts and the Iceberg commit leaves
// both catalogs at the old version; one between the Iceberg commit and
// the catalog commit is adopted at the next start (the manifest object
// was written first): either way the Iceberg head and the catalog agree.
func TestKill9AroundIcebergCommit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	csv := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := []string{"LAKEHOUSE_LOG_LEVEL=warn"}
	runChild(t, env, "--data-dir", data, "ingest", csv("a.csv", "id,name\n1,a\n2,b\n"), "--dataset", "people")
	if h := icebergHead(t, data, "people"); h != 1 {
		t.Fatalf("iceberg head after v1 = %d", h)
	}
	kill := func(hook, file string) {
		marker := filepath.Join(dir, "marker-"+hook)
		cmd := child(t, append(env, hook+"="+marker), "--data-dir", data, "ingest", file, "--dataset", "people", "--mode", "append")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, hook, func() bool { _, err := os.Stat(marker); return err == nil })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	// 1: parts published, Iceberg not committed.
	kill("LAKEHOUSE_TEST_STALL_BEFORE_REGISTER", csv("b.csv", "id,name\n3,c\n"))
	if h := icebergHead(t, data, "people"); h != 1 {
		t.Fatalf("iceberg head after a kill before its commit = %d, want 1", h)
	}
	// 2: Iceberg committed, the catalog not.
	kill("LAKEHOUSE_TEST_STALL_AFTER_ICEBERG", csv("c.csv", "id,name\n4,d\n"))
	if h := icebergHead(t, data, "people"); h != 2 {
		t.Fatalf("iceberg head after its commit = %d, want 2", h)
	}

	cfg := config.Default()
	cfg.DataDir = data
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = apptest.Token
	s := apptest.StartConfig(t, cfg)
	var vs struct {
		Versions []ingestResp `json:"versions"`
	}
	s.JSON(t, "GET", "/v1/catalog/versions/people", nil, 200, &vs)
	if len(vs.Versions) != 2 || vs.Versions[1].RowCount != 3 {
		t.Fatalf("catalog after restart: %+v", vs.Versions)
	}
	if h := icebergHead(t, data, "people"); h != 2 {
		t.Fatalf("iceberg head after restart = %d, catalog 2", h)
	}
	// The next ingest commits version 3 in both.
	postCSV(t, s, "name=people&mode=append", "id,name\n5,e\n", 201)
	if h := icebergHead(t, data, "people"); h != 3 {
		t.Fatalf("iceberg head after the next ingest = %d, want 3", h)
	}
}

// The same kill points for an upsert and a delete by key: after every
// part (the rewritten ones included) is written, and after the Iceberg
// commit. After a restart the dataset is wholly the old or wholly the
// new version, and the Iceberg head agrees with the catalog.
func TestKill9AroundUpsertCommit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := []string{"LAKEHOUSE_LOG_LEVEL=warn"}
	runChild(t, env, "--data-dir", data, "ingest", file("a.csv", "id,name\n1,a\n2,b\n3,c\n"), "--dataset", "people")
	kill := func(hook string, args ...string) {
		marker := filepath.Join(dir, "marker-"+hook)
		_ = os.Remove(marker)
		cmd := child(t, append(env, hook+"="+marker), append([]string{"--data-dir", data, "ingest"}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, hook, func() bool { _, err := os.Stat(marker); return err == nil })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	// 1: every part written, nothing committed: still version 1.
	kill("LAKEHOUSE_TEST_STALL_BEFORE_REGISTER", file("u.csv", "id,name\n2,B\n4,d\n"), "--dataset", "people", "--mode", "upsert", "--key", "id")
	if h := icebergHead(t, data, "people"); h != 1 {
		t.Fatalf("iceberg head after a kill before the upsert's commit = %d, want 1", h)
	}
	// 2: the Iceberg commit made, the catalog's not: adopted at start.
	kill("LAKEHOUSE_TEST_STALL_AFTER_ICEBERG", file("u2.csv", "id,name\n2,B\n4,d\n"), "--dataset", "people", "--mode", "upsert", "--key", "id")
	if h := icebergHead(t, data, "people"); h != 2 {
		t.Fatalf("iceberg head after the upsert's Iceberg commit = %d, want 2", h)
	}
	cfg := config.Default()
	cfg.DataDir = data
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = apptest.Token
	s := apptest.StartConfig(t, cfg)
	wantLines(t, sqlLines(t, s, "SELECT id, name FROM people ORDER BY id"), "1|a", "2|B", "3|c", "4|d")
	wantLines(t, sqlLines(t, s, `SELECT id, name FROM "people@1" ORDER BY id`), "1|a", "2|b", "3|c")
	var man dialectResp
	s.JSON(t, "GET", "/v1/catalog/manifest/people", nil, 200, &man)
	if man.Version != 2 || strings.Join(man.Key, ",") != "id" {
		t.Fatalf("adopted upsert: v%d key %v", man.Version, man.Key)
	}
	// The key declared by the adopted version holds for a delete.
	postChange(t, s, "name=people&mode=delete", "text/csv", "id\n1\n", 201)
	if h := icebergHead(t, data, "people"); h != 3 {
		t.Fatalf("iceberg head after the delete = %d, want 3", h)
	}
	wantLines(t, sqlLines(t, s, "SELECT id FROM people ORDER BY id"), "2", "3", "4")
}
