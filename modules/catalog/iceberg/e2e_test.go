package iceberg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// through gocloud, as an external reader would
	"github.com/apache/iceberg-go/table"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

func ingest(t *testing.T, s *apptest.Server, query, csv string, status int) int {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", "data.csv")
	_, _ = fw.Write([]byte(csv))
	_ = w.Close()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s: %d, want %d: %s", query, resp.StatusCode, status, data)
	}
	var out struct {
		Version int `json:"version"`
	}
	_ = json.Unmarshal(data, &out)
	return out.Version
}

// sqlRows runs SELECT * on a view and renders each row as "a|b|c".
func sqlRows(t *testing.T, s *apptest.Server, view string) []string {
	t.Helper()
	resp, data := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": fmt.Sprintf(`SELECT * FROM "%s"`, view), "limit": 100000})
	if resp.StatusCode != 200 {
		t.Fatalf("sql %s: %d %s", view, resp.StatusCode, data)
	}
	var out struct {
		Rows [][]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range out.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			if v == nil {
				cells[i] = "(null)"
			} else {
				cells[i] = fmt.Sprint(v)
			}
		}
		rows = append(rows, strings.Join(cells, "|"))
	}
	slices.Sort(rows)
	return rows
}

// icebergRows scans a snapshot (by tag) to Arrow and renders it like sqlRows.
func icebergRows(t *testing.T, tbl *table.Table, ref string) []string {
	t.Helper()
	sc, err := tbl.Scan().UseRef(ref)
	if err != nil {
		t.Fatalf("ref %s: %v", ref, err)
	}
	at, err := sc.ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan %s: %v", ref, err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 4096)
	defer tr.Release()
	var rows []string
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			cells := make([]string, rec.NumCols())
			for c := range cells {
				cells[c] = rec.Column(c).ValueStr(i)
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	slices.Sort(rows)
	return rows
}

// writeThrough ingests the history every test checks: append, append,
// replace with a widened column and an added one, append, upsert and
// delete by key, and two datasets ingested concurrently. It returns the
// versions of people.
func writeThrough(t *testing.T, s *apptest.Server) int {
	ingest(t, s, "name=people", "id,name,score\n1,ann,1.5\n2,bob,2.5\n", 201)
	ingest(t, s, "name=people", "id,name,score\n3,cid,3.5\n", 201)
	// replace: id widened BIGINT → DOUBLE, city added.
	ingest(t, s, "name=people&mode=replace", "id,name,score,city\n1.5,dee,4.5,Oslo\n7,eve,,Rome\n", 201)
	ingest(t, s, "name=people", "id,name,score,city\n8,fay,5.5,Bern\n", 201)
	// upsert by name: eve updated, gus inserted (the replace's part is
	// rewritten without eve); delete by the declared key: fay's part goes,
	// zed is unknown.
	ingest(t, s, "name=people&mode=upsert&key=name", "id,name,score,city\n9,eve,6.5,Rome\n10,gus,7.5,Lima\n", 201)
	ingest(t, s, "name=people&mode=delete", "name\nfay\nzed\n", 201)
	var wg sync.WaitGroup
	for _, n := range []string{"ev_a", "ev_b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				ingest(t, s, "name="+n, fmt.Sprintf("k,v\n%d,%s\n", i, n), 201)
			}
		}()
	}
	wg.Wait()
	return 6
}

// checkRESTAndFiles loads every dataset through the REST catalog with
// iceberg-go's own client, and through iceberg-go's file-based loading
// from version-hint.text, and compares every version with SQL's name@N.
func checkRESTAndFiles(t *testing.T, s *apptest.Server, props iceberg.Properties, hint func(name string) (metaLoc string)) {
	ctx := context.Background()
	cat, err := rest.NewCatalog(ctx, "lakehouse", s.URL+"/iceberg", rest.WithOAuthToken(s.Token), rest.WithAdditionalProps(props))
	if err != nil {
		t.Fatalf("rest catalog: %v", err)
	}
	var names []string
	for id, err := range cat.ListTables(ctx, table.Identifier{"default"}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, id[len(id)-1])
	}
	if !slices.Equal(names, []string{"ev_a", "ev_b", "people"}) {
		t.Fatalf("tables %v", names)
	}
	for _, n := range names {
		tbl, err := cat.LoadTable(ctx, table.Identifier{"default", n})
		if err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
		fileTbl, err := table.NewFromLocation(ctx, table.Identifier{"default", n}, hint(n), iceio.LoadFSFunc(props, hint(n)), nil)
		if err != nil {
			t.Fatalf("file-based load %s: %v", n, err)
		}
		if fileTbl.MetadataLocation() != tbl.MetadataLocation() {
			t.Fatalf("%s: version-hint names %s, the REST catalog %s", n, fileTbl.MetadataLocation(), tbl.MetadataLocation())
		}
		snaps := tbl.Metadata().Snapshots()
		for v := 1; v <= len(snaps); v++ {
			want := sqlRows(t, s, fmt.Sprintf("%s@%d", n, v))
			if len(want) == 0 {
				t.Fatalf("%s@%d: SQL returned no rows", n, v)
			}
			for _, tb := range []*table.Table{tbl, fileTbl} {
				if got := icebergRows(t, tb, fmt.Sprintf("v%d", v)); !slices.Equal(got, want) {
					t.Errorf("%s v%d: iceberg %v, SQL %v", n, v, got, want)
				}
			}
		}
		if got, want := icebergRows(t, tbl, "main"), sqlRows(t, s, n); !slices.Equal(got, want) {
			t.Errorf("%s head: iceberg %v, SQL %v", n, got, want)
		}
	}
	people, _ := cat.LoadTable(ctx, table.Identifier{"default", "people"})
	var ops []string
	for _, sn := range people.Metadata().Snapshots() {
		ops = append(ops, string(sn.Summary.Operation)+":"+sn.Summary.Properties["lakehouse.version"])
	}
	if strings.Join(ops, ",") != "append:1,append:2,overwrite:3,append:4,overwrite:5,overwrite:6" {
		t.Errorf("people snapshots %v", ops)
	}
	if f, _ := people.Schema().FindFieldByName("id"); f.Type.String() != "double" || f.ID != 1 {
		t.Errorf("widened id: field %d %s", f.ID, f.Type)
	}
	if f, ok := people.Schema().FindFieldByName("city"); !ok || f.ID <= 3 {
		t.Errorf("added city: %+v", f)
	}

	// Deleting a dataset drops its table.
	s.JSON(t, "DELETE", "/v1/catalog/datasets/ev_b", nil, 200, nil)
	if _, err := cat.LoadTable(ctx, table.Identifier{"default", "ev_b"}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("deleted dataset still loads: %v", err)
	}
}

func TestRESTCatalogLocal(t *testing.T) {
	s := apptest.Start(t)
	writeThrough(t, s)
	objects := s.DataDir + "/objects"
	checkRESTAndFiles(t, s, iceberg.Properties{}, func(name string) string {
		data, err := os.ReadFile(objects + "/datasets/" + name + "/metadata/version-hint.text")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("file://%s/datasets/%s/metadata/v%s.metadata.json", objects, name, strings.TrimSpace(string(data)))
	})
	checkSpecErrors(t, s)
}

func TestRESTCatalogMinIO(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
	})
	writeThrough(t, s)
	bucket, err := storage.OpenS3(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	props := iceberg.Properties{
		"s3.endpoint": "http://" + s3.Endpoint, "s3.region": s3.Region,
		"s3.access-key-id": s3.AccessKey, "s3.secret-access-key": s3.SecretKey, "s3.force-virtual-addressing": "false",
	}
	hint := func(name string) string {
		rc, _, err := bucket.Get(context.Background(), "datasets/"+name+"/metadata/version-hint.text")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, _ := io.ReadAll(rc)
		return fmt.Sprintf("s3://%s/datasets/%s/metadata/v%s.metadata.json", s3.Bucket, name, strings.TrimSpace(string(data)))
	}
	checkRESTAndFiles(t, s, props, hint)
	before := map[string][]string{}
	for _, v := range []string{"people", "people@1", "people@3", "ev_a"} {
		before[v] = sqlRows(t, s, v)
	}

	mods := writeEveryModule(t, s)

	// A new node: same bucket, empty data dir (the old one deleted). The
	// catalog rehydrates at start and the tables are served as before;
	// the pathway trace, vector item and observer event are back too.
	s.Stop(t)
	if err := os.RemoveAll(s.DataDir); err != nil {
		t.Fatal(err)
	}
	fresh := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
	})
	checkEveryModule(t, fresh, mods)
	for v, want := range before {
		if got := sqlRows(t, fresh, v); !slices.Equal(got, want) {
			t.Errorf("new node %s: %v, want %v", v, got, want)
		}
	}
	ctx := context.Background()
	cat, err := rest.NewCatalog(ctx, "lakehouse", fresh.URL+"/iceberg", rest.WithOAuthToken(fresh.Token), rest.WithAdditionalProps(props))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, table.Identifier{"default", "people"})
	if err != nil {
		t.Fatal(err)
	}
	if got := icebergRows(t, tbl, "v3"); !slices.Equal(got, before["people@3"]) {
		t.Errorf("new node iceberg v3: %v", got)
	}
	if _, err := cat.LoadTable(ctx, table.Identifier{"default", "ev_b"}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("deleted dataset is back on the new node: %v", err)
	}
}

// checkSpecErrors: the /iceberg prefix answers in the spec's error shape
// (an integer code), writes are refused, and the gate applies.
func checkSpecErrors(t *testing.T, s *apptest.Server) {
	for _, c := range []struct {
		method, path string
		hdr          http.Header
		status       int
		typ          string
	}{
		{"POST", "/iceberg/v1/namespaces", nil, 403, "ForbiddenException"},
		{"POST", "/iceberg/v1/namespaces/default/tables/people", nil, 403, "ForbiddenException"},
		{"DELETE", "/iceberg/v1/namespaces/default/tables/people", nil, 403, "ForbiddenException"},
		{"POST", "/iceberg/v1/oauth/tokens", nil, 405, "MethodNotAllowedException"},
		{"GET", "/iceberg/v1/namespaces/default/tables/nope", nil, 404, "NoSuchTableException"},
		{"GET", "/iceberg/v1/namespaces/other", nil, 404, "NoSuchNamespaceException"},
		{"GET", "/iceberg/v1/whatever", nil, 404, "NotFoundException"},
		{"GET", "/iceberg/v1/config", http.Header{"Authorization": {"Bearer wrong"}}, 401, "NotAuthorizedException"},
	} {
		resp, data := s.DoHeader(t, c.method, c.path, nil, c.hdr)
		var body struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    int    `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &body); err != nil || resp.StatusCode != c.status || body.Error.Code != c.status ||
			body.Error.Type != c.typ || body.Error.Message == "" {
			t.Errorf("%s %s: %d %s (err %v), want %d %s", c.method, c.path, resp.StatusCode, data, err, c.status, c.typ)
		}
	}
	if resp, _ := s.Do(t, "HEAD", "/iceberg/v1/namespaces/default/tables/people", nil); resp.StatusCode != 204 {
		t.Errorf("HEAD table: %d", resp.StatusCode)
	}
	// Outside the prefix the lakehouse shape stays (a string code).
	resp, data := s.Do(t, "GET", "/v1/catalog/manifest/nope", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(data), `"code":"not_found"`) {
		t.Errorf("lakehouse error shape changed: %s", data)
	}
}
