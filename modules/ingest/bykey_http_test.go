package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/modules/catalog"
	"lakehouse/modules/ingest"
)

// changeResp is an ingest answer with its by-key counts.
type changeResp struct {
	catalog.Manifest
	Existing *bool        `json:"existing"`
	Ingest   ingest.Stats `json:"ingest"`
}

func postChange(t *testing.T, s *apptest.Server, query, ct, body string, status int) changeResp {
	t.Helper()
	resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+query, body, http.Header{"Content-Type": {ct}})
	if resp.StatusCode != status {
		t.Fatalf("ingest %s: status %d want %d: %s", query, resp.StatusCode, status, data)
	}
	var out changeResp
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// people appends three parts of 100 rows each: ids 1–100, 101–200,
// 201–300, so each part's footer min/max covers one range.
func people(t *testing.T, s *apptest.Server) {
	t.Helper()
	for p := range 3 {
		var b strings.Builder
		b.WriteString("id,name,city\n")
		for i := p*100 + 1; i <= (p+1)*100; i++ {
			fmt.Fprintf(&b, "%d,person %d,City%d\n", i, i, i%7)
		}
		ingestRaw(t, s, "name=people", []byte(b.String()), 201)
	}
}

func TestUpsertRewritesOnlyThePartsHoldingAKey(t *testing.T) {
	s := apptest.Start(t)
	people(t, s)
	// 150 changes, 151 is sent as it is, 999 is new: only the middle part
	// can hold a key besides 999, which no part's range holds.
	up := postChange(t, s, "name=people&mode=upsert&key=id", "text/csv",
		"id,name,city\n150,person 150,Chicago\n151,person 151,City4\n999,new person,Austin\n", 201)
	ch := up.Ingest.Change
	if up.Version != 4 || up.RowCount != 301 || ch == nil {
		t.Fatalf("upsert: v%d rows %d %+v", up.Version, up.RowCount, ch)
	}
	if ch.Inserted != 1 || ch.Updated != 1 || ch.Unchanged != 1 || ch.PartsChecked != 1 || ch.PartsRewritten != 1 || ch.PartsKept != 2 || ch.BytesWritten == 0 {
		t.Fatalf("counts %+v", ch)
	}
	if strings.Join(up.Key, ",") != "id" {
		t.Fatalf("declared key %v", up.Key)
	}
	// Every part of the new version carries its key range, so the next
	// upsert prunes without reading footers (a GET each on a bucket).
	for _, f := range up.Files {
		if f.KeyRange == nil || f.KeyRange.Column != "id" || f.KeyRange.Min == "" {
			t.Fatalf("part %s has no key range: %+v", f.Key, f.KeyRange)
		}
	}
	wantLines(t, sqlLines(t, s, "SELECT id, name, city FROM people WHERE id IN (149, 150, 151, 999) ORDER BY id"),
		"149|person 149|City2", "150|person 150|Chicago", "151|person 151|City4", "999|new person|Austin")
	wantLines(t, sqlLines(t, s, "SELECT count(*), count(DISTINCT id) FROM people"), "301|301")
	// The version before still reads as it was.
	wantLines(t, sqlLines(t, s, `SELECT city FROM "people@3" WHERE id = 150`), "City3")

	// The declared key is the default; the same rows again change nothing.
	again := postChange(t, s, "name=people&mode=upsert", "text/csv",
		"id,name,city\n150,person 150,Chicago\n151,person 151,City4\n999,new person,Austin\n", 200)
	if again.Version != 4 || again.Existing == nil || !*again.Existing || again.Ingest.Change.Unchanged != 3 || again.Ingest.Change.PartsRewritten != 0 {
		t.Fatalf("replay: v%d %+v", again.Version, again.Ingest.Change)
	}
	// A part whose matching rows are all unchanged stays as it is; the
	// input is appended without them (160 once, not twice).
	keep := postChange(t, s, "name=people&mode=upsert", "text/csv",
		"id,name,city\n160,person 160,City6\n998,another,Reno\n", 201)
	if ch := keep.Ingest.Change; ch.Unchanged != 1 || ch.Inserted != 1 || ch.PartsRewritten != 0 || ch.PartsKept != len(up.Files) {
		t.Fatalf("unchanged rows kept in place: %+v (%d parts before)", ch, len(up.Files))
	}
	wantLines(t, sqlLines(t, s, "SELECT count(*), count(DISTINCT id) FROM people"), "302|302")
	wantLines(t, sqlLines(t, s, "SELECT name FROM people WHERE id IN (160, 998) ORDER BY id"), "person 160", "another")
	// Other formats carry keys too: NDJSON.
	nd := postChange(t, s, "name=people&mode=upsert", "application/x-ndjson", `{"id": 1, "name": "first", "city": "Oslo"}`+"\n", 201)
	if nd.Version != 6 || nd.Ingest.Change.Updated != 1 {
		t.Fatalf("ndjson upsert: v%d %+v", nd.Version, nd.Ingest.Change)
	}
	wantLines(t, sqlLines(t, s, "SELECT name, city FROM people WHERE id = 1"), "first|Oslo")
}

func TestDeleteByKey(t *testing.T) {
	s := apptest.Start(t)
	people(t, s)
	del := postChange(t, s, "name=people&mode=delete&key=id", "text/csv", "id\n5\n250\n250\n4242\n", 201)
	ch := del.Ingest.Change
	if del.RowCount != 298 || ch.Deleted != 2 || ch.UnknownKeys != 1 || ch.PartsRewritten != 2 || ch.PartsKept != 1 {
		t.Fatalf("delete: rows %d %+v", del.RowCount, ch)
	}
	wantLines(t, sqlLines(t, s, "SELECT count(*) FROM people WHERE id IN (5, 250)"), "0")
	// Every row of a part gone: the part is dropped, not rewritten empty
	// (the first delete wrote what each of its two parts kept as a part of
	// its own, so ranges stay as narrow as they were).
	var b strings.Builder
	b.WriteString("id\n")
	for i := 101; i <= 200; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	drop := postChange(t, s, "name=people&mode=delete", "text/csv", b.String(), 201)
	if drop.RowCount != 198 || drop.Ingest.Change.PartsDropped != 1 || len(drop.Files) != 2 {
		t.Fatalf("dropping a part: rows %d files %d %+v", drop.RowCount, len(drop.Files), drop.Ingest.Change)
	}
	// Only unknown keys: nothing changes, 200 with the same version.
	none := postChange(t, s, "name=people&mode=delete", "text/csv", "id\n100000\n", 200)
	if none.Version != drop.Version || none.Ingest.Change.UnknownKeys != 1 {
		t.Fatalf("unknown keys only: v%d %+v", none.Version, none.Ingest.Change)
	}
	// A VARCHAR key keeps its leading zeros: the keys are read as text.
	ingestRaw(t, s, "name=codes", []byte("code,label\nA1,a\n007,bond\n7,seven\n"), 201)
	postChange(t, s, "name=codes&mode=delete&key=code", "text/csv", "code\n007\n", 201)
	wantLines(t, sqlLines(t, s, "SELECT code FROM codes ORDER BY code"), "7", "A1")
}

func TestByKeyBadInput(t *testing.T) {
	s := apptest.Start(t)
	people(t, s)
	cases := []struct {
		query, body, code, msg string
		status                 int
	}{
		{"name=people&mode=upsert", "id,name,city\n1,a,b\n", "bad_request", "needs key=", 400},
		{"name=people&mode=upsert&key=nope", "id,name,city\n1,a,b\n", "bad_request", `key column "nope" is not in dataset "people"`, 400},
		{"name=people&mode=upsert&key=id,id", "id,name,city\n1,a,b\n", "bad_request", "twice", 400},
		{"name=people&mode=replace&key=nope", "id,name,city\n1,a,b\n", "bad_key", `key column "nope" is not in the input`, 400},
		{"name=people&mode=append&key=nope", "id,name,city\n1,a,b\n", "bad_request", `key column "nope" is not in dataset "people"`, 400},
		{"name=people&mode=upsert&key=id", "id,name,city\n1,a,b\n2,c,d\n1,e,f\n", "duplicate_key", "records 1 and 3 (lines 2 and 4)", 400},
		// Lines are not records: a quoted field over two lines, a blank line.
		{"name=people&mode=upsert&key=id", "id,name,city\n1,\"a\nb\",c\n\n2,c,d\n1,e,f\n", "duplicate_key", "records 1 and 3 (lines 2 and 6)", 400},
		{"name=people&mode=upsert&key=id", "id,name,city\n1,a,b\n,c,d\n", "bad_key", "record 2, line 3", 400},
		{"name=people&mode=upsert&key=id", "id,name\n1,a\n", "schema_drift", "", 409},
		{"name=people&mode=delete&key=id", "who\n1\n", "bad_key", `key column "id" is not in the input`, 400},
		{"name=people&mode=delete&key=id", "id\nabc\n", "bad_key", `"abc" is not a BIGINT`, 400},
		{"name=nobody&mode=delete&key=id", "id\n1\n", "not_found", "", 404},
		{"name=people&mode=merge", "id\n1\n", "bad_request", "upsert or delete", 400},
	}
	for _, c := range cases {
		e := ingestFail(t, s, c.query, c.body, c.status)
		if e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.msg) {
			t.Errorf("%s with %q: %s %q", c.query, c.body, e.Error.Code, e.Error.Message)
		}
	}
	var man dialectResp
	s.JSON(t, "GET", "/v1/catalog/manifest/people", nil, 200, &man)
	if man.Version != 3 || man.RowCount != 300 {
		t.Fatalf("bad input changed the dataset: v%d %d rows", man.Version, man.RowCount)
	}
	// An append or a replace may declare the key too; later upserts use it.
	decl := postChange(t, s, "name=keyed&mode=replace&key=id", "text/csv", "id,name\n1,a\n2,b\n", 201)
	if strings.Join(decl.Key, ",") != "id" {
		t.Fatalf("replace with key=: key %v", decl.Key)
	}
	up := postChange(t, s, "name=keyed&mode=upsert", "text/csv", "id,name\n2,B\n", 201)
	if up.Ingest.Change.Updated != 1 || up.RowCount != 2 {
		t.Fatalf("upsert on the declared key: %+v", up.Ingest.Change)
	}
}

// Upserts and appends racing on one dataset: an upsert built on a
// version an append moved past is built again on the new one, so no
// appended row is lost and no key is doubled.
func TestUpsertRacingAppends(t *testing.T) {
	s := apptest.Start(t)
	people(t, s)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				id := 1000 + w*10 + i
				ingestRaw(t, s, "name=people", []byte(fmt.Sprintf("id,name,city\n%d,appended,X\n", id)), 201)
			}
		}()
	}
	for i := range 5 {
		postChange(t, s, "name=people&mode=upsert&key=id", "text/csv", fmt.Sprintf("id,name,city\n%d,upserted,Y\n%d,upserted,Y\n", 10+i, 5000+i), 201)
	}
	wg.Wait()
	wantLines(t, sqlLines(t, s, "SELECT count(*), count(DISTINCT id) FROM people"), "325|325")
	wantLines(t, sqlLines(t, s, "SELECT count(*) FROM people WHERE name = 'upserted'"), "10")
	wantLines(t, sqlLines(t, s, "SELECT count(*) FROM people WHERE name = 'appended'"), "20")
}
