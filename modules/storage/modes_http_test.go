package storage_test

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// Everything the server writes under data_dir — objects, the metadata
// database, ingest parts, the observer's and pathway's files — is owner
// only by default, and follows storage.file_mode / dir_mode when set.
func TestDataDirModes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file, dir string
		maxFile   fs.FileMode
		maxDir    fs.FileMode
		exactFile fs.FileMode // for objects the storage backend writes
	}{
		{"default", "", "", 0o600, 0o700, 0o600},
		{"group read", "0640", "0750", 0o640, 0o750, 0o640},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := apptest.Start(t, func(c *config.Config) {
				if tc.file != "" {
					c.Storage.FileMode, c.Storage.DirMode = tc.file, tc.dir
				}
			})
			mustPut(t, s, "notes/deep/a.txt", "hello")
			resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=people", "id,name\n1,a\n", http.Header{"Content-Type": {"text/csv"}})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("ingest: %d %s", resp.StatusCode, data)
			}
			s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"note": "x"}}, http.StatusOK, nil)
			s.Stop(t) // flush everything the modules write at stop
			n := 0
			err := filepath.WalkDir(s.DataDir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				n++
				perm := info.Mode().Perm()
				switch {
				case p == s.DataDir:
					// t.TempDir made it; the server does not own it.
				case d.IsDir() && perm&^tc.maxDir != 0:
					t.Errorf("dir %s is %o, wider than %o", p, perm, tc.maxDir)
				case !d.IsDir() && perm&^tc.maxFile != 0:
					t.Errorf("file %s is %o, wider than %o", p, perm, tc.maxFile)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			st, err := filepath.Glob(filepath.Join(s.DataDir, "objects", "notes", "deep", "a.txt"))
			if err != nil || len(st) != 1 {
				t.Fatalf("object file missing: %v %v", st, err)
			}
			if n < 10 {
				t.Fatalf("only %d entries under the data dir", n)
			}
		})
	}
}
