package storage_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
)

func startStorageCatalog(t *testing.T) *apptest.Server {
	t.Helper()
	return apptest.Start(t, func(c *config.Config) { c.Modules = []string{"storage", "catalog"} })
}

// noServerPath fails when an error body names the data dir.
func noServerPath(t *testing.T, s *apptest.Server, e apptest.ErrorBody) {
	t.Helper()
	if strings.Contains(e.Error.Message, s.DataDir) || strings.Contains(e.Error.Message, "/objects") {
		t.Errorf("error names a server path: %s", e.Error.Message)
	}
}

// Module state (_vectors/, _catalog/, _observer/, any "_" first segment)
// and a dataset's metadata/ are not reachable through the storage API:
// every verb answers 403 "reserved" and nothing is written.
func TestReservedKeysAre403(t *testing.T) {
	s := startStorageCatalog(t)
	for _, key := range []string{
		"_vectors/idx/wal/00000001.seg", "_catalog/manifests/a/1.json", "_observer/events/1.json",
		"_anything/x", "_top", "datasets/d/metadata/v1.metadata.json",
	} {
		for _, m := range []string{"PUT", "GET", "DELETE"} {
			var body any
			if m == "PUT" {
				body = "junk"
			}
			e := s.Fail(t, m, "/v1/storage/objects/"+key, body, http.StatusForbidden)
			if e.Error.Code != "reserved" || !strings.Contains(e.Error.Message, key) {
				t.Errorf("%s %s: %s %q", m, key, e.Error.Code, e.Error.Message)
			}
		}
		if resp, _ := s.Do(t, "HEAD", "/v1/storage/objects/"+key, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("HEAD %s: %d", key, resp.StatusCode)
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, "objects", filepath.FromSlash(key))); err == nil {
			t.Errorf("%s was written", key)
		}
	}
	for _, prefix := range []string{"_vectors/", "_catalog", "_", "datasets/d/metadata/"} {
		e := s.Fail(t, "GET", "/v1/storage/list?prefix="+prefix, nil, http.StatusForbidden)
		if e.Error.Code != "reserved" {
			t.Errorf("list %s: %+v", prefix, e)
		}
	}
	// A registered dataset writes _catalog/ manifests; a broad listing
	// shows the user's objects but not the module state, however small
	// the page.
	mustPut(t, s, "a.txt", "a")
	mustPut(t, s, "datasets/d/p1.parquet", "p1")
	mustPut(t, s, "zz.txt", "z")
	register(t, s, "d", http.StatusCreated, "datasets/d/p1.parquet")
	if _, err := os.Stat(filepath.Join(s.DataDir, "objects", "_catalog", "manifests", "d", "1.json")); err != nil {
		t.Fatalf("manifest object missing: %v", err)
	}
	var keys []string
	cursor := ""
	for range 10 {
		var page struct {
			Objects []struct{ Key string } `json:"objects"`
			Cursor  string                 `json:"cursor"`
		}
		s.JSON(t, "GET", "/v1/storage/list?limit=1&cursor="+cursor, nil, http.StatusOK, &page)
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	if strings.Join(keys, ",") != "a.txt,datasets/d/p1.parquet,zz.txt" {
		t.Fatalf("listed %v", keys)
	}
}

func mustPut(t *testing.T, s *apptest.Server, key, body string) {
	t.Helper()
	s.JSON(t, "PUT", "/v1/storage/objects/"+key, body, http.StatusCreated, nil)
}

func register(t *testing.T, s *apptest.Server, name string, want int, keys ...string) apptest.ErrorBody {
	t.Helper()
	schema := []catalog.Column{{Name: "id", Type: "BIGINT"}}
	body := map[string]any{"name": name, "schema": schema, "schema_fingerprint": catalog.Fingerprint(schema), "object_keys": keys}
	if want >= 400 {
		return s.Fail(t, "POST", "/v1/catalog/register", body, want)
	}
	s.JSON(t, "POST", "/v1/catalog/register", body, want, nil)
	return apptest.ErrorBody{}
}

// An object a registered version references can be read but not
// overwritten or deleted through the API (409 naming dataset and
// version); new keys under datasets/<name>/ can still be written and
// registered, the original upload-then-register flow.
func TestReferencedObjectsAreImmutable(t *testing.T) {
	s := startStorageCatalog(t)
	mustPut(t, s, "datasets/d/p1.parquet", "v1 bytes")
	register(t, s, "d", http.StatusCreated, "datasets/d/p1.parquet")

	for _, m := range []string{"PUT", "DELETE"} {
		e := s.Fail(t, m, "/v1/storage/objects/datasets/d/p1.parquet", "forged", http.StatusConflict)
		if e.Error.Code != "referenced" || !strings.Contains(e.Error.Message, `"d"`) || !strings.Contains(e.Error.Message, "version 1") {
			t.Errorf("%s referenced: %s %q", m, e.Error.Code, e.Error.Message)
		}
	}
	resp, data := s.Do(t, "GET", "/v1/storage/objects/datasets/d/p1.parquet", nil)
	if resp.StatusCode != http.StatusOK || string(data) != "v1 bytes" {
		t.Fatalf("get referenced: %d %q", resp.StatusCode, data)
	}
	mustPut(t, s, "datasets/d/p2.parquet", "v2 bytes")
	register(t, s, "d", http.StatusCreated, "datasets/d/p1.parquet", "datasets/d/p2.parquet")
	if e := s.Fail(t, "DELETE", "/v1/storage/objects/datasets/d/p2.parquet", nil, http.StatusConflict); !strings.Contains(e.Error.Message, "version 2") {
		t.Errorf("p2: %q", e.Error.Message)
	}
	// Deleting the dataset hides it, but its versions stay until gc, so
	// their objects stay protected.
	s.JSON(t, "DELETE", "/v1/catalog/datasets/d", nil, http.StatusOK, nil)
	s.Fail(t, "PUT", "/v1/storage/objects/datasets/d/p1.parquet", "forged", http.StatusConflict)
	// Unreferenced keys under datasets/ stay writable and deletable.
	mustPut(t, s, "datasets/e/draft.parquet", "draft")
	mustPut(t, s, "datasets/e/draft.parquet", "draft 2")
	s.JSON(t, "DELETE", "/v1/storage/objects/datasets/e/draft.parquet", nil, http.StatusOK, nil)
}

// Register accepts only keys under datasets/<name>/ (not its metadata/),
// so a dataset can never claim a vector index that gc would then delete.
func TestRegisterOnlyOwnDatasetKeys(t *testing.T) {
	s := startStorageCatalog(t)
	mustPut(t, s, "elsewhere/p.parquet", "x")
	mustPut(t, s, "datasets/other/p.parquet", "x")
	for _, key := range []string{"elsewhere/p.parquet", "datasets/other/p.parquet", "_vectors/idx/snap", "datasets/d/metadata/m.json", "datasetsx/d/p"} {
		e := register(t, s, "d", http.StatusBadRequest, key)
		if !strings.Contains(e.Error.Message, key) || !strings.Contains(e.Error.Message, "datasets/d/") {
			t.Errorf("register %s: %q", key, e.Error.Message)
		}
	}
}

// The observer's audit dataset (config observer.dataset) is internal:
// register, delete and every storage write under it answer 403.
func TestInternalDatasetIsReserved(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Modules = []string{"storage", "catalog"}
		c.Observer.Dataset = "audit_trail"
	})
	e := register(t, s, "audit_trail", http.StatusForbidden, "datasets/audit_trail/p.parquet")
	if e.Error.Code != "reserved" || !strings.Contains(e.Error.Message, "audit_trail") || !strings.Contains(e.Error.Message, "observer") {
		t.Errorf("register: %+v", e)
	}
	if e := s.Fail(t, "DELETE", "/v1/catalog/datasets/audit_trail", nil, http.StatusForbidden); e.Error.Code != "reserved" {
		t.Errorf("delete: %+v", e)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		if e := s.Fail(t, m, "/v1/storage/objects/datasets/audit_trail/events-1.parquet", "forged", http.StatusForbidden); e.Error.Code != "reserved" {
			t.Errorf("%s part: %+v", m, e)
		}
	}
	// observer_events is a user name again when it is not the configured one.
	mustPut(t, s, "datasets/observer_events/p.parquet", "x")
	register(t, s, "observer_events", http.StatusCreated, "datasets/observer_events/p.parquet")
}

// Without the catalog in the process nothing can prove a datasets/ key
// unreferenced: writes there are refused; other keys work as before.
func TestDatasetsNeedTheCatalog(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"storage"} })
	if e := s.Fail(t, "PUT", "/v1/storage/objects/datasets/d/p.parquet", "x", http.StatusForbidden); !strings.Contains(e.Error.Message, "catalog") {
		t.Errorf("%q", e.Error.Message)
	}
	mustPut(t, s, "notes/a.txt", "x")
}

// A file/directory clash and an over-long segment are the client's
// mistakes: 409 and 400 naming the key, never a 500 or a server path.
func TestKeyClashAndLongSegmentAre4xx(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"storage"} })
	mustPut(t, s, "a/b", "file")
	e := s.Fail(t, "PUT", "/v1/storage/objects/a/b/c", "under a file", http.StatusConflict)
	if e.Error.Code != "key_conflict" || !strings.Contains(e.Error.Message, `"a/b/c"`) || !strings.Contains(e.Error.Message, `"a/b"`) {
		t.Errorf("put under an object: %+v", e)
	}
	noServerPath(t, s, e)
	mustPut(t, s, "x/y/z", "deep")
	e = s.Fail(t, "PUT", "/v1/storage/objects/x/y", "over a prefix", http.StatusConflict)
	if e.Error.Code != "key_conflict" || !strings.Contains(e.Error.Message, `"x/y"`) {
		t.Errorf("put over a prefix: %+v", e)
	}
	noServerPath(t, s, e)
	// Deleting or reading a prefix is a missing object, not an error.
	s.JSON(t, "DELETE", "/v1/storage/objects/x/y", nil, http.StatusOK, nil)
	s.Fail(t, "GET", "/v1/storage/objects/x/y", nil, http.StatusNotFound)
	s.Fail(t, "GET", "/v1/storage/objects/a/b/c", nil, http.StatusNotFound)
	for key, want := range map[string]string{"a/b": "file", "x/y/z": "deep"} {
		if resp, data := s.Do(t, "GET", "/v1/storage/objects/"+key, nil); resp.StatusCode != 200 || string(data) != want {
			t.Errorf("%s: %d %q", key, resp.StatusCode, data)
		}
	}
	long := "seg/" + strings.Repeat("s", 300) + "/x"
	for _, m := range []string{"PUT", "GET", "DELETE"} {
		e = s.Fail(t, m, "/v1/storage/objects/"+long, "x", http.StatusBadRequest)
		if !strings.Contains(e.Error.Message, "segment 2 is 300 bytes") {
			t.Errorf("%s long segment: %q", m, e.Error.Message)
		}
		noServerPath(t, s, e)
	}
}
