package storage_test

import (
	"context"
	"testing"

	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

func TestLocalConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		s, err := storage.OpenLocal(t.TempDir() + "/objects")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestS3Conformance runs the same suite against a real MinIO server on
// 127.0.0.1 (one server, a fresh bucket per subtest).
func TestS3Conformance(t *testing.T) {
	cfg := storagetest.StartMinIO(t)
	n := 0
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		n++
		c := cfg
		c.Bucket = cfg.Bucket + "-" + string(rune('a'+n%26)) + string(rune('a'+n/26))
		s, err := storage.OpenS3(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
