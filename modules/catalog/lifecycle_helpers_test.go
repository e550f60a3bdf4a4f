package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
)

// Helpers of the "versions that last" tests: a real server (storage,
// catalog, ingest, query) on local disk, CSV ingests, SQL, and Iceberg
// tables read back with apache/iceberg-go.

// startLake serves the modules a dataset's life touches. Background
// compaction is off unless an option turns it on (it would add versions
// the tests count), and the grace period is 0 so one maintenance pass
// deletes what it may.
func startLake(t *testing.T, opts ...func(*config.Config)) *apptest.Server {
	t.Helper()
	return apptest.Start(t, append([]func(*config.Config){func(c *config.Config) {
		c.Modules = []string{"storage", "catalog", "ingest", "query"}
		c.Catalog.Maintenance.CompactMinParts = 0
		c.Catalog.Maintenance.Grace = 0
	}}, opts...)...)
}

type ingestAnswer struct {
	catalog.Manifest
	Existing *bool `json:"existing"`
}

// ingestCSV posts a CSV body to /v1/ingest?<query> and requires status.
func ingestCSV(t testing.TB, s *apptest.Server, query, csv string, status int) ingestAnswer {
	t.Helper()
	code, data := ingestRaw(t, s, query, csv)
	if code != status {
		t.Fatalf("ingest %s: status %d, want %d: %s", query, code, status, data)
	}
	var out ingestAnswer
	if status < 300 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("ingest %s: %v", query, err)
		}
	}
	return out
}

// ingestRaw is ingestCSV without the status check (safe from goroutines:
// it never calls t.Fatal).
func ingestRaw(t testing.TB, s *apptest.Server, query, csv string) (int, []byte) {
	req, err := http.NewRequest("POST", s.URL+"/v1/ingest?"+query, strings.NewReader(csv))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// runSQL runs a query and returns its rows rendered "a|b|c" in the order
// the query gives them.
func runSQL(t testing.TB, s *apptest.Server, q string) []string {
	t.Helper()
	resp, data := s.Do(t, "POST", "/v1/sql", map[string]any{"sql": q, "limit": 100000})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sql %s: %d %s", q, resp.StatusCode, data)
	}
	var out struct {
		Rows [][]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	rows := []string{}
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
	return rows
}

// sqlFail runs a query that must fail with status and returns the error.
func sqlFail(t testing.TB, s *apptest.Server, q string, status int) apptest.ErrorBody {
	t.Helper()
	return s.Fail(t, "POST", "/v1/sql", map[string]any{"sql": q}, status)
}

// versionsOf lists the versions GET /v1/catalog/versions/<name> keeps.
func versionsOf(t testing.TB, s *apptest.Server, name string) []catalog.Manifest {
	t.Helper()
	var out struct {
		Versions []catalog.Manifest `json:"versions"`
	}
	s.JSON(t, "GET", "/v1/catalog/versions/"+name, nil, http.StatusOK, &out)
	return out.Versions
}

func numbers(ms []catalog.Manifest) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// objectPath is where a key lives in the local store.
func objectPath(s *apptest.Server, key string) string {
	return filepath.Join(s.DataDir, "objects", filepath.FromSlash(key))
}

func exists(s *apptest.Server, key string) bool {
	_, err := os.Stat(objectPath(s, key))
	return err == nil
}

// maintain runs POST /v1/catalog/maintenance for one dataset.
func maintain(t testing.TB, s *apptest.Server, name string, dryRun bool) catalog.MaintenanceReport {
	t.Helper()
	var rep catalog.MaintenanceReport
	s.JSON(t, "POST", fmt.Sprintf("/v1/catalog/maintenance?dataset=%s&dry_run=%v", url.QueryEscape(name), dryRun), nil, http.StatusOK, &rep)
	if len(rep.Datasets) != 1 || rep.Datasets[0].Name != name {
		t.Fatalf("maintenance of %s: %+v", name, rep)
	}
	if e := rep.Datasets[0].Error; e != "" {
		t.Fatalf("maintenance of %s: %s", name, e)
	}
	return rep
}

// localTable loads a dataset's Iceberg table the way an outside engine
// does: version-hint.text, then the metadata file it names, with
// iceberg-go's own file IO.
func localTable(t testing.TB, s *apptest.Server, name string) *table.Table {
	t.Helper()
	dir := objectPath(s, "datasets/"+name+"/metadata")
	hint, err := os.ReadFile(filepath.Join(dir, "version-hint.text"))
	if err != nil {
		t.Fatal(err)
	}
	loc := fmt.Sprintf("file://%s/v%s.metadata.json", dir, strings.TrimSpace(string(hint)))
	tbl, err := table.NewFromLocation(context.Background(), table.Identifier{"default", name}, loc,
		iceio.LoadFSFunc(iceberg.Properties{}, loc), nil)
	if err != nil {
		t.Fatalf("iceberg-go loads %s: %v", name, err)
	}
	return tbl
}

// icebergRows scans a snapshot (by ref) to Arrow, rendered like runSQL and
// sorted.
func icebergRows(t testing.TB, tbl *table.Table, ref string) []string {
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
	rows := []string{}
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

func sorted(rows []string) []string {
	out := slices.Clone(rows)
	slices.Sort(out)
	return out
}

// refs lists a table's ref names, sorted.
func refs(tbl *table.Table) []string {
	var out []string
	for n := range tbl.Metadata().Refs() {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
