package erasure_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/twmb/avro/ocf"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// The person to forget, and how they appear: an id, an email and a phone.
const (
	targetID    = "CAND-000123"
	targetEmail = "jane.forgotten@example.org"
	targetPhone = "555-0199-777"
)

func ingest(t *testing.T, s *apptest.Server, query, csv string) {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, csv, http.Header{"Content-Type": {"text/csv"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("ingest %s: %d %s", query, resp.StatusCode, data)
	}
}

// seed builds a history in which the person is in several versions,
// several parts and two datasets, in a tagged version, in an index, and
// in a part that compaction left behind.
func seed(t *testing.T, s *apptest.Server) {
	t.Helper()
	ingest(t, s, "name=people&key=candidate_id", "candidate_id,name,email,phone,summary\n"+
		"CAND-000001,Ada Lovelace,ada@example.org,555-0100-001,forklift operator in Houston\n"+
		targetID+",Jane Forgotten,"+targetEmail+","+targetPhone+",warehouse lead OSHA-30\n"+
		"CAND-000777,Bo Keeper,bo@example.org,555-0100-777,payroll clerk\n")
	ingest(t, s, "name=people&mode=append", "candidate_id,name,email,phone,summary\n"+
		"CAND-000002,Cy Remains,cy@example.org,555-0100-002,night shift loader\n")
	ingest(t, s, "name=people&mode=upsert&key=candidate_id", "candidate_id,name,email,phone,summary\n"+
		targetID+",Jane Forgotten,"+targetEmail+","+targetPhone+",promoted to supervisor\n"+
		"CAND-000003,Di Stays,di@example.org,555-0100-003,forklift trainer\n")
	s.JSON(t, "PUT", "/v1/catalog/tags/people/first", map[string]any{"version": 1}, 200, nil)
	ingest(t, s, "name=calls", "call_id,candidate_id,note\n"+
		"1,CAND-000001,left a message\n"+
		"2,"+targetID+",called back on "+targetPhone+"\n"+
		"3,CAND-000002,emailed "+strings.ToUpper(targetEmail)+" by mistake\n"+
		"4,CAND-000003,booked interview\n")
	ingest(t, s, "name=calls&mode=append", "call_id,candidate_id,note\n5,CAND-000777,no answer\n")
	// A saved query naming the person, edited once (two versions kept).
	s.JSON(t, "PUT", "/v1/workbench/queries/jane", map[string]any{"name": "Jane's calls",
		"sql": "SELECT * FROM calls WHERE candidate_id = '" + targetID + "'"}, 201, nil)
	s.JSON(t, "PUT", "/v1/workbench/queries/jane", map[string]any{"name": "Jane's calls",
		"sql": "SELECT * FROM calls WHERE candidate_id = '" + targetID + "' OR note ILIKE '%" + targetEmail + "%'"}, 200, nil)
	// Events: an agent's report naming the person, and one that does not.
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "query_sql", "sql": "SELECT * FROM people WHERE email = '" + targetEmail + "' OR candidate_id = '" + targetID + "'"}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": "query_sql", "sql": "SELECT count(*) FROM calls"}, 200, nil)
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	var kept, gone struct {
		UID string `json:"uid"`
	}
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"note": "shortlisted " + targetID + " for the Houston forklift job"}, "tags": []string{"shortlist"}}, 200, &gone)
	s.JSON(t, "POST", "/v1/pathway/revise", map[string]any{"predecessor_uid": gone.UID, "content": map[string]any{"note": "called " + targetEmail}}, 200, nil)
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": map[string]any{"note": "hybrid search works best for OSHA questions"}}, 200, &kept)
	s.JSON(t, "POST", "/v1/vectors/index/people_idx/from-dataset", map[string]any{
		"dataset": "people", "id_column": "candidate_id", "text_columns": []string{"name", "email", "summary"},
		"metadata_columns": []string{"phone"}}, 200, nil)
}

// versionsOf reads every retained version's rows of every dataset, as
// sorted text lines.
func versionsOf(t *testing.T, s *apptest.Server) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range []string{"people", "calls"} {
		var vs struct {
			Versions []struct {
				Version int `json:"version"`
			} `json:"versions"`
		}
		s.JSON(t, "GET", "/v1/catalog/versions/"+name, nil, 200, &vs)
		for _, v := range vs.Versions {
			var ans apptest.SQLAnswer
			s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": fmt.Sprintf(`SELECT * FROM "%s@%d"`, name, v.Version)}, 200, &ans)
			var lines []string
			for _, r := range ans.Rows {
				lines = append(lines, fmt.Sprint(r))
			}
			sort.Strings(lines)
			out[fmt.Sprintf("%s@%d", name, v.Version)] = lines
		}
	}
	return out
}

func mentions(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, strings.ToLower(targetID)) || strings.Contains(l, targetEmail) || strings.Contains(l, targetPhone)
}

func testErasure(t *testing.T, s *apptest.Server, scan func() map[string][]byte) {
	seed(t, s)
	before := versionsOf(t, s)
	found := 0
	for name, data := range scan() {
		if objectMentions(t, name, data) {
			found++
		}
	}
	if found < 5 {
		t.Fatalf("the scan finds the person in only %d objects before erasure: it would prove nothing", found)
	}
	var job struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Receipt *struct {
			RowsErased        int64 `json:"rows_erased"`
			VersionsRewritten int   `json:"versions_rewritten"`
			ItemsDeleted      int   `json:"vector_items_deleted"`
		} `json:"receipt"`
	}
	s.JSON(t, "POST", "/v1/erasure?wait=true", map[string]any{
		"match": map[string]any{"candidate_id": []string{targetID}}, "value": targetEmail}, 200, &job)
	if job.Status != "done" || job.Receipt == nil || job.Receipt.RowsErased < 4 || job.Receipt.VersionsRewritten < 4 || job.Receipt.ItemsDeleted != 1 {
		t.Fatalf("job: %+v %+v", job, job.Receipt)
	}
	// Every other row of every version is intact; the person's are gone.
	after := versionsOf(t, s)
	if len(after) != len(before) {
		t.Fatalf("versions before %d, after %d", len(before), len(after))
	}
	for v, rows := range before {
		var want []string
		for _, r := range rows {
			if !mentions(r) {
				want = append(want, r)
			}
		}
		if fmt.Sprint(want) != fmt.Sprint(after[v]) {
			t.Errorf("%s after erasure:\n got %v\nwant %v", v, after[v], want)
		}
	}
	// Search no longer finds them; the receipt names no value.
	var res struct {
		Results []map[string]any `json:"results"`
	}
	s.JSON(t, "POST", "/v1/vectors/index/people_idx/search", map[string]any{"text": "Jane Forgotten supervisor", "k": 10, "mode": "hybrid"}, 200, &res)
	if mentions(fmt.Sprint(res.Results)) {
		t.Errorf("search still finds the person: %v", res.Results)
	}
	// The events stay, without the person: who asked what, when.
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	s.JSON(t, "GET", "/v1/observer/events?source=mcp&limit=100", nil, 200, &evs)
	redacted := 0
	for _, ev := range evs.Events {
		if strings.Contains(fmt.Sprint(ev["sql"]), "[erased]") {
			redacted++
		}
	}
	if redacted != 1 || len(evs.Events) < 2 || mentions(fmt.Sprint(evs.Events)) {
		t.Errorf("events after erasure: %d redacted of %v", redacted, evs.Events)
	}
	// And so do the audit dataset's rows (published by the flush above).
	var audit apptest.SQLAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FILTER (WHERE contains(CAST(o AS VARCHAR), '[erased]')), count(*) FROM observer_events o"}, 200, &audit)
	if audit.Rows[0][0] == float64(0) || audit.Rows[0][1] == float64(0) {
		t.Errorf("audit dataset after erasure: %v redacted rows of %v", audit.Rows[0][0], audit.Rows[0][1])
	}
	var saved struct {
		SQL string `json:"sql"`
	}
	s.JSON(t, "GET", "/v1/workbench/queries/jane", nil, 200, &saved)
	if !strings.Contains(saved.SQL, "[erased]") || mentions(saved.SQL) {
		t.Errorf("saved query after erasure: %s", saved.SQL)
	}
	var stats struct {
		Total int `json:"total"`
	}
	s.JSON(t, "GET", "/v1/pathway/stats", nil, 200, &stats)
	if stats.Total != 1 {
		t.Errorf("pathway traces after erasure: %d, want the 1 that never named the person", stats.Total)
	}
	resp, data := s.Do(t, "GET", "/v1/erasure/"+job.ID, nil)
	if resp.StatusCode != 200 || mentions(string(data)) {
		t.Errorf("job view: %d %s", resp.StatusCode, data)
	}
	// The history survives a restart as rewritten (the catalog rebuilds
	// the same versions).
	s = s.Restart(t)
	if fmt.Sprint(versionsOf(t, s)) != fmt.Sprint(after) {
		t.Error("versions changed across a restart")
	}
	// No object anywhere holds the person (after the restart, which
	// rewrote the metadata database into a fresh file: DuckDB's freed
	// blocks keep old text until then).
	for name, data := range scan() {
		if objectMentions(t, name, data) {
			t.Errorf("%s still holds the person", name)
		}
	}
}

// objectMentions reads one object as what it is — Parquet row by row,
// Avro records decoded, anything else as bytes — and reports whether it
// holds the person.
func objectMentions(t *testing.T, name string, data []byte) bool {
	t.Helper()
	switch {
	case strings.HasSuffix(name, ".parquet"):
		return parquetMentions(t, data)
	case strings.HasSuffix(name, ".avro"):
		r, err := ocf.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for {
			var rec any
			if err := r.Decode(&rec); err != nil {
				if err == io.EOF {
					return false
				}
				t.Fatalf("%s: %v", name, err)
			}
			if mentions(stringify(rec)) {
				return true
			}
		}
	}
	return mentions(string(data))
}

// stringify renders a decoded Avro value with bytes as text (bounds).
func stringify(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case map[string]any:
		var b strings.Builder
		for k, e := range x {
			b.WriteString(k + "=" + stringify(e) + " ")
		}
		return b.String()
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(stringify(e) + " ")
		}
		return b.String()
	}
	return fmt.Sprint(v)
}

func parquetMentions(t *testing.T, data []byte) bool {
	t.Helper()
	f := filepath.Join(t.TempDir(), "p.parquet")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM read_parquet('" + f + "')")
	if err != nil {
		t.Fatalf("parquet: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		if mentions(fmt.Sprint(vals...)) {
			return true
		}
	}
	// Footer statistics (min/max) are in the bytes, uncompressed.
	return mentions(string(data))
}

// TestErasureLocal: after erasing a seeded person on local disk, no file
// under the data dir holds their id, email or phone (Parquet read row by
// row, Avro decoded, the rest as bytes), and every other row of every
// version is intact.
func TestErasureLocal(t *testing.T) {
	s := apptest.Start(t)
	testErasure(t, s, func() map[string][]byte {
		out := map[string][]byte{}
		root := s.DataDir
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[strings.TrimPrefix(p, root)] = data
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

// TestErasureMinIO is the same proof on a real MinIO bucket: every
// object of the bucket is read.
func TestErasureMinIO(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
	})
	bucket, err := storage.OpenS3(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	testErasure(t, s, func() map[string][]byte {
		out := map[string][]byte{}
		cursor := ""
		for {
			page, err := bucket.List(context.Background(), "", cursor, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Objects {
				rc, _, err := bucket.Get(context.Background(), o.Key)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				out[o.Key] = data
			}
			if page.Cursor == "" {
				return out
			}
			cursor = page.Cursor
		}
	})
}
