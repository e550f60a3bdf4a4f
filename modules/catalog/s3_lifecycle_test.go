package catalog_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// through gocloud, as an external reader would
	"github.com/apache/iceberg-go/table"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// TestVersionsThatLastMinIO runs a dataset's whole life on the S3
// backend against a real MinIO: small appends compacted, versions
// expired in their commits, expired-only parts deleted from the bucket
// by maintenance, every kept version equal in SQL and in iceberg-go
// reading the bucket, 410 for an expired one, and a new node with an
// empty data dir serving the same kept versions.
func TestVersionsThatLastMinIO(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	onS3 := func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
		c.Catalog.Retention.KeepVersions = 5
	}
	s := startLake(t, onS3, compactMinParts(4))
	const n = 14
	want := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		ingestCSV(t, s, fmt.Sprintf("name=lake&mode=append&idempotency_key=k%d", i), rowsCSV(i, i), 201)
		want = append(want, fmt.Sprintf("%d|r%d", i, i))
	}
	latest := settled(t, s, "lake", 4)
	if latest.RowCount != n {
		t.Fatalf("latest v%d holds %d rows, want %d", latest.Version, latest.RowCount, n)
	}
	if got := runSQL(t, s, `SELECT * FROM lake ORDER BY id`); !slices.Equal(got, sortedByID(want)) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	kept := versionsOf(t, s, "lake")
	if len(kept) > 5 {
		t.Fatalf("%d versions kept, retention keeps 5: %v", len(kept), numbers(kept))
	}
	if kept[0].Version > 1 {
		e := s.Fail(t, "GET", fmt.Sprintf("/v1/catalog/manifest/lake?version=%d", kept[0].Version-1), nil, 410)
		if e.Error.Code != "version_expired" {
			t.Fatalf("expired version: %+v", e)
		}
	}

	// Maintenance deletes every part no kept version names.
	maintain(t, s, "lake", false)
	bucket, err := storage.OpenS3(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range kept {
		for _, f := range m.Files {
			named[f.Key] = true
		}
	}
	page, err := bucket.List(context.Background(), "datasets/lake/", "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.Objects {
		if strings.HasSuffix(o.Key, ".parquet") && !named[o.Key] {
			t.Errorf("maintenance left %s, which no kept version names", o.Key)
		}
	}
	for k := range named {
		if _, err := bucket.Stat(context.Background(), k); err != nil {
			t.Fatalf("kept part %s: %v", k, err)
		}
	}

	checkS3Versions(t, s, s3, bucket, "lake", kept)

	// A new node: same bucket, empty data dir.
	s.Stop(t)
	if err := os.RemoveAll(s.DataDir); err != nil {
		t.Fatal(err)
	}
	fresh := startLake(t, onS3, compactMinParts(4))
	again := versionsOf(t, fresh, "lake")
	if !slices.Equal(numbers(again), numbers(kept)) {
		t.Fatalf("new node keeps versions %v, the first kept %v", numbers(again), numbers(kept))
	}
	checkS3Versions(t, fresh, s3, bucket, "lake", again)
	// And it goes on: a replay is still a replay, a new append lands.
	if a := ingestCSV(t, fresh, "name=lake&mode=append&idempotency_key=k3", rowsCSV(3, 3), 200); a.Existing == nil || !*a.Existing {
		t.Fatalf("replay on the new node: %+v", a)
	}
	ingestCSV(t, fresh, "name=lake&mode=append", rowsCSV(n+1, n+1), 201)
	if got := runSQL(t, fresh, `SELECT count(*) FROM lake`); !slices.Equal(got, []string{fmt.Sprint(n + 1)}) {
		t.Fatalf("count after one more append: %v", got)
	}
}

// checkS3Versions reads every kept version with iceberg-go from the
// bucket (version-hint.text, then the metadata it names) and compares it
// with SQL on "name@N".
func checkS3Versions(t *testing.T, s *apptest.Server, s3 config.S3Config, bucket storage.Store, name string, kept []catalog.Manifest) {
	t.Helper()
	rc, _, err := bucket.Get(context.Background(), "datasets/"+name+"/metadata/version-hint.text")
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := io.ReadAll(rc)
	rc.Close()
	loc := fmt.Sprintf("s3://%s/datasets/%s/metadata/v%s.metadata.json", s3.Bucket, name, strings.TrimSpace(string(hint)))
	props := iceberg.Properties{
		"s3.endpoint": "http://" + s3.Endpoint, "s3.region": s3.Region,
		"s3.access-key-id": s3.AccessKey, "s3.secret-access-key": s3.SecretKey, "s3.force-virtual-addressing": "false",
	}
	tbl, err := table.NewFromLocation(context.Background(), table.Identifier{"default", name}, loc, iceio.LoadFSFunc(props, loc), nil)
	if err != nil {
		t.Fatalf("iceberg-go loads %s from the bucket: %v", name, err)
	}
	if got := len(tbl.Metadata().Snapshots()); got > len(kept) {
		t.Errorf("table holds %d snapshots for %d kept versions", got, len(kept))
	}
	for _, m := range kept {
		sql := sorted(runSQL(t, s, fmt.Sprintf(`SELECT * FROM "%s@%d"`, name, m.Version)))
		if got := icebergRows(t, tbl, fmt.Sprintf("v%d", m.Version)); !slices.Equal(got, sql) {
			t.Fatalf("v%d: iceberg-go %v, SQL %v", m.Version, got, sql)
		}
	}
}
