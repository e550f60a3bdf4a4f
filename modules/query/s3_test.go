package query

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// TestHTTPFSUnavailable records why S3 goes through the part cache: the
// linked DuckDB has no httpfs and cannot install one offline.
func TestHTTPFSUnavailable(t *testing.T) {
	writeParquet(t, mustLocal(t, t.TempDir()), "x.parquet", "SELECT 1") // opens fixtureDB
	var loaded bool
	var mode string
	must(t, fixtureDB.QueryRow(`SELECT loaded, install_mode FROM duckdb_extensions() WHERE extension_name = 'httpfs'`).Scan(&loaded, &mode))
	if loaded || mode == "STATICALLY_LINKED" {
		t.Fatalf("httpfs is linked in (%v, %s): read S3 through it instead of the part cache", loaded, mode)
	}
	if _, err := fixtureDB.Exec(`LOAD httpfs`); err == nil {
		t.Fatal("LOAD httpfs succeeded: read S3 through it instead of the part cache")
	}
}

func openMinIO(t *testing.T) *storage.S3 {
	t.Helper()
	cfg := storagetest.StartMinIO(t)
	s3, err := storage.OpenS3(context.Background(), cfg)
	must(t, err)
	return s3
}

// TestS3QueriesThroughPartCache runs the SQL scenarios on a real MinIO:
// views read parts fetched into the local cache, a new version is seen
// at once, time travel works, and the lock-down still holds.
func TestS3QueriesThroughPartCache(t *testing.T) {
	s3 := openMinIO(t)
	h := newHarness(t, s3)
	if h.mod.cache == nil {
		t.Fatal("S3 store did not get a part cache")
	}
	addDataset(t, h.cat, h.store, "sales", salesV1)
	if a := h.ok(sqlBody(`SELECT count(*), sum(id) FROM sales`)); a.Rows[0][0] != float64(10) || a.Rows[0][1] != float64(45) {
		t.Fatalf("s3 v1 %v", a.Rows)
	}
	st := h.mod.cache.stats()
	if st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("cache after first query %+v", st)
	}
	h.ok(sqlBody(`SELECT * FROM sales`))
	if st := h.mod.cache.stats(); st.Hits < 1 || st.Misses != 1 {
		t.Fatalf("second query not served from cache %+v", st)
	}
	addDataset(t, h.cat, h.store, "sales", `SELECT range AS id FROM range(100)`, `SELECT range AS id FROM range(7)`)
	if a := h.ok(sqlBody(`SELECT count(*) FROM sales`)); a.Rows[0][0] != float64(107) {
		t.Fatalf("s3 latest %v", a.Rows)
	}
	if a := h.ok(sqlBody(`SELECT count(*) FROM "sales@1" JOIN "sales@2" USING (id)`)); a.Rows[0][0] != float64(17) {
		t.Fatalf("s3 time travel join %v", a.Rows)
	}
	// Names found only through the binder (DESCRIBE) are built too.
	addDataset(t, h.cat, h.store, "other", `SELECT 'x' AS s`)
	if a := h.ok(sqlBody(`DESCRIBE other`)); a.RowCount != 1 || a.Rows[0][0] != "s" {
		t.Fatalf("describe %v", a.Rows)
	}
	for _, f := range []string{"arrow", "ndjson", "csv"} {
		status, _, data := h.post(sqlBody(`SELECT * FROM "sales@2"`, "format", f))
		if status != 200 || len(data) == 0 {
			t.Fatalf("%s on s3: %d %s", f, status, data)
		}
	}
	h.fail(sqlBody(`SELECT * FROM read_text('/etc/passwd')`), 403)
	h.fail(sqlBody(`COPY sales TO '`+cacheDir(h.cfg.DataDir)+`/x.csv'`), 403)
	h.fail(sqlBody(`SELECT * FROM nosuch`), 400)
}

// TestS3EvictedPartsFetchedAgain: with a cache smaller than one part,
// every query's parts are evicted after it, and the next query fetches
// them again before DuckDB binds the view.
func TestS3EvictedPartsFetchedAgain(t *testing.T) {
	s3 := openMinIO(t)
	h := newHarness(t, s3, func(c *config.Config) { c.Query.CacheSize = 1 })
	addDataset(t, h.cat, h.store, "sales", salesV1)
	for i := 1; i <= 3; i++ {
		if a := h.ok(sqlBody(`SELECT sum(id) FROM sales`)); a.Rows[0][0] != float64(45) {
			t.Fatalf("query %d: %v", i, a.Rows)
		}
		if st := h.mod.cache.stats(); st.Misses != int64(i) || st.Entries != 0 || st.Evictions != int64(i) {
			t.Fatalf("query %d: %+v", i, st)
		}
	}
}

// TestPartCacheLRU checks the bound, pinning, and key+etag freshness
// against a real MinIO.
func TestPartCacheLRU(t *testing.T) {
	s3 := openMinIO(t)
	ctx := context.Background()
	put := func(key, body string) {
		_, err := s3.Put(ctx, key, strings.NewReader(body), int64(len(body)))
		must(t, err)
	}
	put("datasets/a/1", strings.Repeat("a", 400))
	put("datasets/a/2", strings.Repeat("b", 400))
	put("datasets/a/3", strings.Repeat("c", 400))
	c, err := newPartCache(s3, t.TempDir(), 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	read := func(p string) string {
		b, err := os.ReadFile(p)
		must(t, err)
		return string(b[:1])
	}
	p1, r1, err := c.Acquire(ctx, []string{"datasets/a/1", "datasets/a/2"})
	must(t, err)
	// 1 and 2 are pinned: fetching 3 goes over the bound rather than
	// pulling a file out from under a running query.
	p3, r3, err := c.Acquire(ctx, []string{"datasets/a/3"})
	must(t, err)
	if st := c.stats(); st.Entries != 3 || st.Bytes != 1200 || st.Evictions != 0 {
		t.Fatalf("pinned %+v", st)
	}
	if read(p1[0]) != "a" || read(p1[1]) != "b" || read(p3[0]) != "c" {
		t.Fatal("wrong cached content")
	}
	r1()
	// Unpinned: the least recently used (1) goes, the cache fits again.
	if st := c.stats(); st.Entries != 2 || st.Bytes != 800 || st.Evictions != 1 {
		t.Fatalf("after release %+v", st)
	}
	if _, err := os.Stat(p1[0]); !os.IsNotExist(err) {
		t.Fatalf("evicted file still there: %v", err)
	}
	r3()
	// Overwriting an object changes its ETag: the next acquire fetches
	// the new content instead of serving the stale part.
	put("datasets/a/2", strings.Repeat("z", 300))
	p2, r2, err := c.Acquire(ctx, []string{"datasets/a/2"})
	must(t, err)
	defer r2()
	if read(p2[0]) != "z" || p2[0] == p1[1] {
		t.Fatalf("stale part served: %s", p2[0])
	}
	b, _ := os.ReadFile(p2[0])
	if !bytes.Equal(b, bytes.Repeat([]byte("z"), 300)) {
		t.Fatal("new content wrong")
	}
	if st := c.stats(); st.Bytes > 1000 {
		t.Fatalf("over the bound with nothing pinned but one part: %+v", st)
	}
	if _, _, err := c.Acquire(ctx, []string{"datasets/a/missing"}); err == nil {
		t.Fatal("missing key acquired")
	}
}
