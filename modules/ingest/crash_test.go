package ingest_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/internal/demo"
	"lakehouse/modules/catalog"
	"lakehouse/modules/ingest"
)

// TestMain lets the test binary act as the lakehouse CLI in a child
// process (the crash tests SIGKILL it mid-ingest).
func TestMain(m *testing.M) {
	apptest.Main(m, func() {
		if marker := os.Getenv("LAKEHOUSE_TEST_STALL_BEFORE_REGISTER"); marker != "" {
			ingest.SetBeforeRegister(func() {
				_ = os.WriteFile(marker, []byte("published"), 0o644)
				time.Sleep(time.Hour)
			})
		}
		if marker := os.Getenv("LAKEHOUSE_TEST_STALL_AFTER_ICEBERG"); marker != "" {
			catalog.SetAfterIcebergCommit(func() {
				_ = os.WriteFile(marker, []byte("committed"), 0o644)
				time.Sleep(time.Hour)
			})
		}
	})
}

// child is `lakehouse <args>` as a child process (apptest.Child).
func child(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	return apptest.Child(env, args...)
}

func runChild(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := child(t, env, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lakehouse %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func writeStaffing(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.GenerateStaffingCSV(f, size, 7); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Killing the process mid-ingest (while converting, and after the parts
// are published but before the version is registered) leaves no new
// version, the live version's files intact, and a server that starts.
func TestKill9MidIngest(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.csv"), filepath.Join(dir, "big.csv")
	writeStaffing(t, small, 64<<10)
	writeStaffing(t, big, 24<<20)
	data := filepath.Join(dir, "data")
	env := []string{"LAKEHOUSE_INGEST_PART_SIZE=1MiB", "LAKEHOUSE_INGEST_WORKERS=1", "LAKEHOUSE_LOG_LEVEL=warn"}
	runChild(t, env, "--data-dir", data, "ingest", small, "--dataset", "cands")
	before := snapshotObjects(t, data)

	// 1: SIGKILL while parts are being converted.
	cmd := child(t, env, "--data-dir", data, "ingest", big, "--dataset", "cands", "--mode", "append")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "parts being written", func() bool {
		m, _ := filepath.Glob(filepath.Join(data, "tmp", "ingest-*", "p1-*.parquet"))
		return len(m) >= 2
	})
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	// 2: SIGKILL after publishing, before registering.
	marker := filepath.Join(dir, "published")
	cmd = child(t, append(env, "LAKEHOUSE_TEST_STALL_BEFORE_REGISTER="+marker), "--data-dir", data, "ingest", big, "--dataset", "cands", "--mode", "append")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "parts published", func() bool { _, err := os.Stat(marker); return err == nil })
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	after := snapshotObjects(t, data)
	for k, v := range before {
		if !reflect.DeepEqual(after[k], v) {
			t.Fatalf("object %s changed or vanished after the crash", k)
		}
	}
	if len(after) <= len(before) {
		t.Fatalf("expected orphan parts from the published-but-unregistered ingest")
	}
	// gc removes the orphans (unreferenced, older than grace 0) only.
	out := runChild(t, env, "--data-dir", data, "gc", "--grace", "0s")
	if !strings.Contains(out, "removed") {
		t.Fatalf("gc: %s", out)
	}
	if final := snapshotObjects(t, data); !reflect.DeepEqual(final, before) {
		t.Fatalf("after gc: %d objects, want the %d from before the crashes", len(final), len(before))
	}

	cfg := config.Default()
	cfg.DataDir = data
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.Token = apptest.Token
	s := apptest.StartConfig(t, cfg)
	var vs struct {
		Versions []ingestResp `json:"versions"`
	}
	s.JSON(t, "GET", "/v1/catalog/versions/cands", nil, 200, &vs)
	if len(vs.Versions) != 1 || vs.Versions[0].Version != 1 {
		t.Fatalf("versions after crashes: %+v", vs.Versions)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "tmp")); len(entries) != 0 {
		t.Fatalf("crashed ingest's work dirs not cleared at start: %v", entries)
	}
	// And a real ingest now succeeds (no stale lock, no stale state).
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, _ := s.DoHeader(t, "POST", "/v1/ingest?name=cands&mode=append", f, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 201 {
		t.Fatalf("ingest after restart: status %d", resp.StatusCode)
	}
	s.JSON(t, "GET", "/v1/catalog/versions/cands", nil, 200, &vs)
	if len(vs.Versions) != 2 || vs.Versions[1].RowCount <= vs.Versions[0].RowCount {
		t.Fatalf("ingest after restart: %+v", vs.Versions)
	}
}

// The in-process CLI refuses a data dir a running server holds and says
// to use --server; with --server it streams the file to that server.
func TestCLIIngestLockedAndServer(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "s.csv")
	if err := os.WriteFile(csv, []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := apptest.Start(t)
	out, err := child(t, nil, "--data-dir", s.DataDir, "ingest", csv, "--dataset", "s").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--server") || !strings.Contains(string(out), "locked") {
		t.Fatalf("locked data dir: err %v, output:\n%s", err, out)
	}
	got := runChild(t, []string{"AUTH_TOKEN=" + s.Token}, "ingest", csv, "--dataset", "s", "--server", s.URL)
	if !strings.Contains(got, "ingested s v1: 2 rows") {
		t.Fatalf("--server output: %s", got)
	}
	out, err = child(t, []string{"AUTH_TOKEN=wrong"}, "ingest", csv, "--dataset", "s", "--server", s.URL).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("bad token: %v %s", err, out)
	}
	var man ingestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/s", nil, 200, &man)
	if man.RowCount != 2 {
		t.Fatalf("manifest %+v", man)
	}
}

// `lakehouse catalog rebuild` restores the catalog from the bucket alone
// after the metadata database is lost; `migrate status` reports it.
func TestCLIRebuildFromBucketAndMigrateStatus(t *testing.T) {
	s := apptest.Start(t)
	v1 := postCSV(t, s, "name=people", "id,name\n1,a\n", 201)
	v2 := postCSV(t, s, "name=people&mode=append", "id,name\n2,b\n", 201)
	postCSV(t, s, "name=gone", "x\n1\n", 201)
	s.JSON(t, "DELETE", "/v1/catalog/datasets/gone", nil, 200, nil)
	var before struct {
		Datasets []ingestResp `json:"datasets"`
	}
	s.JSON(t, "GET", "/v1/catalog/list", nil, 200, &before)
	before.Datasets = slices.DeleteFunc(before.Datasets, func(d ingestResp) bool { return d.Name != "people" })
	s.Stop(t)

	st := runChild(t, nil, "--data-dir", s.DataDir, "migrate", "status")
	if !strings.Contains(st, "0001_catalog.sql") || !strings.Contains(st, "applied") || !strings.Contains(st, "0 pending") {
		t.Fatalf("migrate status:\n%s", st)
	}
	for _, f := range []string{"meta.duckdb", "meta.duckdb.wal"} {
		_ = os.Remove(filepath.Join(s.DataDir, f))
	}
	out := runChild(t, nil, "--data-dir", s.DataDir, "catalog", "rebuild")
	if !strings.Contains(out, "rebuilt ") || !strings.Contains(out, "1 deleted") {
		t.Fatalf("rebuild: %s", out)
	}
	s2 := s.Restart(t)
	var after struct {
		Datasets []ingestResp `json:"datasets"`
	}
	s2.JSON(t, "GET", "/v1/catalog/list", nil, 200, &after)
	after.Datasets = slices.DeleteFunc(after.Datasets, func(d ingestResp) bool { return d.Name != "people" })
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("list after rebuild:\n%+v\nwant\n%+v", after, before)
	}
	var old ingestResp
	s2.JSON(t, "GET", "/v1/catalog/manifest/people?version=1", nil, 200, &old)
	if !reflect.DeepEqual(old.Files, v1.Files) || after.Datasets[0].Version != v2.Version {
		t.Fatalf("versions after rebuild: %+v", old)
	}
	s2.Fail(t, "GET", "/v1/catalog/manifest/gone", nil, 404)
}
