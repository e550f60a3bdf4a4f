package ingest_test

import (
	"context"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// On an S3 store the parts are uploaded with Put (no rename), the catalog
// checks them there and mirrors manifests there; a replay is still a 200.
func TestIngestOnS3(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
		c.Ingest.PartSize = 1 << 20
	})
	csv := bigCSVText(30000) // a few MiB: several parts
	v1 := postCSV(t, s, "name=s3data", csv, 201)
	if len(v1.Files) < 2 || v1.RowCount != 30000 {
		t.Fatalf("v1: %d files, %d rows", len(v1.Files), v1.RowCount)
	}
	for _, f := range v1.Files {
		resp, data := s.Do(t, "GET", "/v1/storage/get/"+f.Key, nil)
		if resp.StatusCode != 200 || int64(len(data)) != f.Bytes || string(data[:4]) != "PAR1" {
			t.Fatalf("part %s: %d, %d bytes", f.Key, resp.StatusCode, len(data))
		}
	}
	// The manifest mirror is the catalog's (403 through the API): look
	// in the bucket itself.
	bucket, err := storage.OpenS3(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bucket.Stat(context.Background(), "_catalog/manifests/s3data/1.json"); err != nil {
		t.Fatalf("manifest object: %v", err)
	}
	if again := postCSV(t, s, "name=s3data", csv, 200); again.Version != 1 {
		t.Fatalf("replay: %+v", again)
	}
}
