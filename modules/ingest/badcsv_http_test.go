package ingest_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// snapshotObjects lists every object file under the data dir with its bytes.
func snapshotObjects(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	root := filepath.Join(dir, "objects")
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			if strings.Contains(rel, "observer") {
				return nil // the observer's audit export writes on its own
			}
			b, _ := os.ReadFile(p)
			out[rel] = b
		}
		return nil
	})
	return out
}

// Every bad input: 400 with a line and a column, nothing registered,
// nothing stored before changed.
func TestBadCSVMatrix(t *testing.T) {
	s := apptest.Start(t)
	v1 := postCSV(t, s, "name=keep", "id,name\n1,a\n", 201)
	before := snapshotObjects(t, s.DataDir)

	cases := []struct {
		name      string
		csv       string
		line, col float64
		query     string // more request parameters
	}{
		{"empty file", "", 1, 1, ""},
		{"only BOM", "\xEF\xBB\xBF", 1, 1, ""},
		{"header only", "id,name\n", 2, 1, ""},
		{"ragged short", "id,name\n1,a\n2\n", 3, 2, ""},
		{"ragged long", "id,name\n1,a\n2,b,c\n", 3, 3, ""},
		// Invalid UTF-8 alone reads as Windows-1252 (encoding_test); it is
		// an error when the encoding is given, or when the file also holds
		// well-formed multi-byte UTF-8 (é here): a mix is not guessed.
		{"invalid utf8", "id,name\n1,a\n2,b\xff\xfe\n", 3, 2, "&encoding=utf-8"},
		{"invalid utf8 in a UTF-8 file", "id,name\n1,\xc3\xa9\n2,b\xff\xfe\n", 3, 2, ""},
		{"invalid utf8 quoted", "id,name\n1,\"\xc3\xa9\nb\xff\"\n", 3, 2, ""},
		{"duplicate column", "id,name,id\n1,a,2\n", 1, 3, ""},
		{"duplicate column ignoring case", "id,name,ID\n1,a,2\n", 1, 3, ""},
		{"empty column name", "id,,x\n1,2,3\n", 1, 2, ""},
		// Sniffed, a bare quote reads as quote=none (dialect_http_test).
		{"bare quote", "id,name\n1,a\"b\n", 2, 2, "&quote=%22"},
		{"unterminated quote", "id,name\n1,\"abc\n2,d\n", 2, 2, ""},
		{"junk after quote", "id,name\n1,\"abc\"x\n", 2, 2, ""},
		{"ragged after quoted newlines", "id,name\n1,\"a\nb\nc\"\n2\n", 5, 2, ""},
		{"NUL in a column name", "id,na\x00me\n1,a\n", 1, 2, ""},
		{"control character in a column name", "id,x,a\x1bb\n1,2,3\n", 1, 3, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ds := range []string{"keep", "fresh"} {
				e := ingestFail(t, s, "name="+ds+c.query, c.csv, 400)
				if e.Error.Code != "bad_csv" {
					t.Fatalf("code %q: %s", e.Error.Code, e.Error.Message)
				}
				if e.Error.Details["line"] != c.line || e.Error.Details["column"] != c.col {
					t.Fatalf("position %v:%v, want %v:%v (%s)", e.Error.Details["line"], e.Error.Details["column"], c.line, c.col, e.Error.Message)
				}
			}
		})
	}
	// Request errors.
	s.Fail(t, "POST", "/v1/ingest", "id\n1\n", 400)                        // missing name
	s.Fail(t, "POST", "/v1/ingest?name=Bad-Name", "id\n1\n", 400)          // invalid name
	s.Fail(t, "POST", "/v1/ingest?name=keep&mode=merge", "id\n1\n", 400)   // bad mode
	s.Fail(t, "POST", "/v1/ingest?name=keep&delimiter=ab", "id\n1\n", 400) // bad delimiter
	resp, _ := s.DoHeader(t, "POST", "/v1/ingest?name=keep", "--x\r\nbroken", http.Header{"Content-Type": {"multipart/form-data; boundary=x"}})
	if resp.StatusCode != 400 {
		t.Fatalf("malformed multipart: %d", resp.StatusCode)
	}
	body, ct := multipartBody(t, "", map[string]string{"other": "1"})
	body = bytes.Replace(body, []byte(`name="file"`), []byte(`name="notfile"`), 1)
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=keep", body, http.Header{"Content-Type": {ct}})
	if resp.StatusCode != 400 || !bytes.Contains(data, []byte("file")) {
		t.Fatalf("missing file field: %d %s", resp.StatusCode, data)
	}

	var list struct {
		Datasets []ingestResp `json:"datasets"`
	}
	s.JSON(t, "GET", "/v1/catalog/list", nil, 200, &list)
	names := map[string]bool{}
	for _, d := range list.Datasets {
		names[d.Name] = true
	}
	var man ingestResp
	s.JSON(t, "GET", "/v1/catalog/manifest/keep", nil, 200, &man)
	if !names["keep"] || names["fresh"] || man.Version != 1 || !reflect.DeepEqual(man.Files, v1.Files) {
		t.Fatalf("bad input changed the catalog: %v, %+v", names, man)
	}
	if after := snapshotObjects(t, s.DataDir); !reflect.DeepEqual(before, after) {
		t.Fatalf("bad input changed stored objects: %d before, %d after", len(before), len(after))
	}
	if entries, _ := os.ReadDir(filepath.Join(s.DataDir, "tmp")); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

// The observer's audit dataset is internal: ingest into it (even
// mode=replace) answers 403 before reading the upload, and it is not
// touched.
func TestIngestIntoInternalDatasetIs403(t *testing.T) {
	s := apptest.Start(t)
	for _, q := range []string{"name=observer_events&mode=replace", "name=observer_events"} {
		e := ingestFail(t, s, q, "id,status\n1,forged\n", 403)
		if e.Error.Code != "reserved" || !strings.Contains(e.Error.Message, "observer_events") {
			t.Fatalf("%s: %+v", q, e)
		}
	}
	resp, data := s.Do(t, "GET", "/v1/catalog/manifest/observer_events", nil)
	if resp.StatusCode == 200 && bytes.Contains(data, []byte("forged")) {
		t.Fatalf("audit dataset forged: %s", data)
	}
}

func TestUploadTooLarge(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Ingest.MaxUpload = 1024 })
	big := bytes.Repeat([]byte("1234567\n"), 1000)
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?name=big", append([]byte("id\n"), big...), http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 413 {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	s.Fail(t, "GET", "/v1/catalog/manifest/big", nil, 404)
}
