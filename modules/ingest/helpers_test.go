package ingest_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"lakehouse/app/apptest"
	"lakehouse/modules/catalog"
)

type ingestResp struct {
	catalog.Manifest
	ObjectKeys []string `json:"object_keys"`
	Existing   *bool    `json:"existing"`
	Ingest     struct {
		Rows    int64 `json:"rows"`
		Parts   int   `json:"parts"`
		Passes  int   `json:"passes"`
		Widened []struct {
			Column, From, To string
		} `json:"widened"`
	} `json:"ingest"`
}

// multipartBody builds a multipart/form-data body with the CSV in "file".
func multipartBody(t *testing.T, csv string, fields map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(csv))
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// postCSV posts csv as multipart and requires status.
func postCSV(t *testing.T, s *apptest.Server, query, csv string, status int) ingestResp {
	t.Helper()
	body, ct := multipartBody(t, csv, nil)
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, body, http.Header{"Content-Type": {ct}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s: status %d want %d: %s", query, resp.StatusCode, status, data)
	}
	var out ingestResp
	if status < 300 {
		if err := jsonUnmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// ingestFail posts csv and returns the error body.
func ingestFail(t *testing.T, s *apptest.Server, query, csv string, status int) apptest.ErrorBody {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, csv, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s: status %d want %d: %s", query, resp.StatusCode, status, data)
	}
	var e apptest.ErrorBody
	if err := jsonUnmarshal(data, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body %s: %v", data, err)
	}
	return e
}

// duckRows reads a manifest's parts back with DuckDB, ordered by the
// first column, as strings.
func duckRows(t *testing.T, s *apptest.Server, m catalog.Manifest, query string) [][]string {
	t.Helper()
	paths := make([]string, len(m.Files))
	for i, f := range m.Files {
		paths[i] = "'" + filepath.Join(s.DataDir, "objects", filepath.FromSlash(f.Key)) + "'"
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("CREATE VIEW t AS SELECT * FROM read_parquet([%s])", strings.Join(paths, ","))); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			} else {
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	return out
}

// bigCSVText has rows with quoted multi-line fields (like the internal
// tests' bigCSV) for tests outside the package.
func bigCSVText(rows int) string {
	var b strings.Builder
	b.WriteString("id,txt,v\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&b, "%d,\"row %d\nsays \"\"hi\"\", with some padding to make the file bigger\",%d.5\n", i, i, i)
	}
	return b.String()
}
