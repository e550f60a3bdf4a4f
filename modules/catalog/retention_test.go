package catalog_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
)

func keepVersions(n int) func(*config.Config) {
	return func(c *config.Config) { c.Catalog.Retention.KeepVersions = n }
}

// rowsCSV is one append of rows from..to: "id,v\n<i>,r<i>\n...".
func rowsCSV(from, to int) string {
	var b strings.Builder
	b.WriteString("id,v\n")
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%d,r%d\n", i, i)
	}
	return b.String()
}

// TestRetentionByCount: keep_versions=5, 20 versions → 16..20 stay; an
// expired version answers 410 version_expired from the manifest route
// and from SQL, naming the versions kept; a kept one still queries; a
// maintenance pass (grace 0) deletes the parts only expired versions
// used, and every kept version still reads its rows, also after a
// restart.
func TestRetentionByCount(t *testing.T) {
	s := startLake(t, keepVersions(5))
	// Versions 1..10 append one row each; 11 replaces the dataset with
	// rows 101..105; 12..20 append one row each again. So the parts of
	// versions 1..10 are referenced by expired versions only.
	parts := map[int][]string{} // version → its part keys
	for v := 1; v <= 20; v++ {
		var a ingestAnswer
		switch {
		case v == 11:
			a = ingestCSV(t, s, "name=ret&mode=replace", rowsCSV(101, 105), 201)
		default:
			a = ingestCSV(t, s, "name=ret&mode=append", rowsCSV(v, v), 201)
		}
		if a.Version != v {
			t.Fatalf("ingest %d made version %d", v, a.Version)
		}
		for _, f := range a.Files {
			parts[v] = append(parts[v], f.Key)
		}
	}
	if got := numbers(versionsOf(t, s, "ret")); !slices.Equal(got, seq(16, 20)) {
		t.Fatalf("versions kept %v, want 16..20", got)
	}
	var info catalog.RetentionInfo
	s.JSON(t, "GET", "/v1/catalog/retention/ret", nil, 200, &info)
	if info.KeepVersions != 5 || info.Source != "default" || info.Latest != 20 || !slices.Equal(info.Versions, seq(16, 20)) {
		t.Fatalf("retention info %+v", info)
	}

	e := s.Fail(t, "GET", "/v1/catalog/manifest/ret?version=3", nil, http.StatusGone)
	if e.Error.Code != "version_expired" || !strings.Contains(e.Error.Message, "16-20") {
		t.Fatalf("manifest of an expired version: %+v", e.Error)
	}
	// A version that never existed is still 404, not 410.
	if e := s.Fail(t, "GET", "/v1/catalog/manifest/ret?version=21", nil, http.StatusNotFound); e.Error.Code != "not_found" {
		t.Fatalf("version 21: %+v", e.Error)
	}
	e = sqlFail(t, s, `SELECT * FROM "ret@3"`, http.StatusGone)
	if e.Error.Code != "version_expired" || !strings.Contains(e.Error.Message, "16-20") {
		t.Fatalf("SQL on an expired version: %+v", e.Error)
	}
	// Kept versions: v11 holds 101..105; v11+k adds rows 12..11+k.
	wantCount := func(v int) string { return fmt.Sprint(5 + max(0, v-11)) }
	for v := 16; v <= 20; v++ {
		if got := runSQL(t, s, fmt.Sprintf(`SELECT count(*) FROM "ret@%d"`, v)); !slices.Equal(got, []string{wantCount(v)}) {
			t.Fatalf("ret@%d count %v, want %s", v, got, wantCount(v))
		}
	}
	before := map[int][]string{}
	for v := 16; v <= 20; v++ {
		before[v] = runSQL(t, s, fmt.Sprintf(`SELECT * FROM "ret@%d" ORDER BY id`, v))
	}

	// Parts only expired versions used, and parts kept versions use.
	kept := map[string]bool{}
	for v := 16; v <= 20; v++ {
		for _, k := range versionsOf(t, s, "ret")[v-16].Files {
			kept[k.Key] = true
		}
	}
	var gone []string
	for v := 1; v <= 15; v++ {
		for _, k := range parts[v] {
			if !kept[k] && !slices.Contains(gone, k) {
				gone = append(gone, k)
			}
		}
	}
	if len(gone) != 10 {
		t.Fatalf("expected the 10 parts of versions 1..10 to be unreferenced, got %d: %v", len(gone), gone)
	}
	for _, k := range gone {
		if !exists(s, k) {
			t.Fatalf("%s deleted before any maintenance pass (grace)", k)
		}
	}
	var status struct {
		Datasets []catalog.DatasetMaintenance `json:"datasets"`
	}
	s.JSON(t, "GET", "/v1/catalog/maintenance", nil, 200, &status)
	if i := slices.IndexFunc(status.Datasets, func(d catalog.DatasetMaintenance) bool { return d.Name == "ret" }); i < 0 ||
		status.Datasets[i].PendingDeletes != 10 || status.Datasets[i].Versions != 5 || status.Datasets[i].Latest != 20 {
		t.Fatalf("maintenance status %+v", status.Datasets)
	}

	s.Fail(t, "POST", "/v1/catalog/maintenance?dataset=nope", nil, http.StatusNotFound)
	s.Fail(t, "POST", "/v1/catalog/maintenance?dataset=ret&dry_run=maybe", nil, http.StatusBadRequest)
	dry := maintain(t, s, "ret", true)
	if !dry.DryRun || dry.Datasets[0].RemovedFiles != 10 {
		t.Fatalf("dry run: %+v", dry.Datasets[0])
	}
	for _, k := range gone {
		if !exists(s, k) {
			t.Fatalf("a dry run deleted %s", k)
		}
	}
	rep := maintain(t, s, "ret", false)
	if rep.Datasets[0].RemovedFiles != 10 {
		t.Fatalf("pass removed %d files, want 10: %+v", rep.Datasets[0].RemovedFiles, rep.Datasets[0])
	}
	for _, k := range gone {
		if exists(s, k) {
			t.Errorf("%s still in storage after maintenance", k)
		}
	}
	for k := range kept {
		if !exists(s, k) {
			t.Errorf("maintenance deleted %s, which a kept version uses", k)
		}
	}
	check := func(s *apptest.Server) {
		t.Helper()
		for v := 16; v <= 20; v++ {
			if got := runSQL(t, s, fmt.Sprintf(`SELECT * FROM "ret@%d" ORDER BY id`, v)); !slices.Equal(got, before[v]) {
				t.Errorf("ret@%d after maintenance: %v, want %v", v, got, before[v])
			}
		}
		if got := runSQL(t, s, `SELECT count(*) FROM ret`); !slices.Equal(got, []string{"14"}) {
			t.Errorf("ret count %v", got)
		}
		tbl := localTable(t, s, "ret")
		for v := 16; v <= 20; v++ {
			if got := icebergRows(t, tbl, fmt.Sprintf("v%d", v)); !slices.Equal(got, sorted(before[v])) {
				t.Errorf("iceberg v%d: %v, want %v", v, got, before[v])
			}
		}
		if got := len(tbl.Metadata().Snapshots()); got != 5 {
			t.Errorf("iceberg keeps %d snapshots, want 5", got)
		}
		if r := refs(tbl); !slices.Equal(r, []string{"main", "v16", "v17", "v18", "v19", "v20"}) {
			t.Errorf("iceberg refs %v", r)
		}
	}
	check(s)
	// /metrics: the catalog's series after the pass.
	resp, body := s.Do(t, "GET", "/metrics", nil)
	for _, line := range []string{
		`lakehouse_catalog_versions{dataset="ret"} 5`,
		`lakehouse_catalog_parts{dataset="ret"} 10`,
		`lakehouse_catalog_versions_expired_total 15`,
	} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), line+"\n") {
			t.Errorf("/metrics (%d) lacks %q", resp.StatusCode, line)
		}
	}

	// A restart (Iceberg sync, views from the catalog) keeps the same picture.
	s2 := s.Restart(t)
	if got := numbers(versionsOf(t, s2, "ret")); !slices.Equal(got, seq(16, 20)) {
		t.Fatalf("after restart: versions %v", got)
	}
	if e := sqlFail(t, s2, `SELECT * FROM "ret@3"`, http.StatusGone); e.Error.Code != "version_expired" {
		t.Fatalf("after restart ret@3: %+v", e.Error)
	}
	check(s2)
	// One more version expires exactly one more (16).
	ingestCSV(t, s2, "name=ret&mode=append", rowsCSV(21, 21), 201)
	if got := numbers(versionsOf(t, s2, "ret")); !slices.Equal(got, seq(17, 21)) {
		t.Fatalf("after v21: versions %v", got)
	}
	if e := sqlFail(t, s2, `SELECT * FROM "ret@16"`, http.StatusGone); !strings.Contains(e.Error.Message, "17-21") {
		t.Fatalf("ret@16 after v21: %+v", e.Error)
	}
}

// TestRetentionTagsPin: a tagged version outlives retention; untagging
// expires it at once; tag names lakehouse gives or that are malformed
// are 400; a tag of a version that never was is 404, of an expired one
// 410.
func TestRetentionTagsPin(t *testing.T) {
	s := startLake(t, keepVersions(5))
	for v := 1; v <= 7; v++ {
		ingestCSV(t, s, "name=pin&mode=append", rowsCSV(v, v), 201)
	}
	var tagAns map[string]any
	s.JSON(t, "PUT", "/v1/catalog/tags/pin/golden", map[string]any{"version": 7}, 200, &tagAns)
	if tagAns["version"] != float64(7) || tagAns["tag"] != "golden" {
		t.Fatalf("tag answer %v", tagAns)
	}
	for v := 8; v <= 20; v++ {
		ingestCSV(t, s, "name=pin&mode=append", rowsCSV(v, v), 201)
	}
	if got := numbers(versionsOf(t, s, "pin")); !slices.Equal(got, []int{7, 16, 17, 18, 19, 20}) {
		t.Fatalf("versions with v7 pinned: %v", got)
	}
	var tags struct {
		Tags map[string]int `json:"tags"`
	}
	s.JSON(t, "GET", "/v1/catalog/tags/pin", nil, 200, &tags)
	if len(tags.Tags) != 1 || tags.Tags["golden"] != 7 {
		t.Fatalf("tags %v", tags.Tags)
	}
	if got := runSQL(t, s, `SELECT count(*) FROM "pin@7"`); !slices.Equal(got, []string{"7"}) {
		t.Fatalf("pin@7 %v", got)
	}
	tbl := localTable(t, s, "pin")
	if got := icebergRows(t, tbl, "golden"); !slices.Equal(got, sorted(runSQL(t, s, `SELECT * FROM "pin@7"`))) {
		t.Fatalf("iceberg tag golden: %v", got)
	}
	if r := refs(tbl); !slices.Contains(r, "v7") || slices.Contains(r, "v15") {
		t.Fatalf("iceberg refs with v7 pinned: %v", r)
	}

	// Bad tag names.
	for _, bad := range []string{"main", "v3", "a%20b", strings.Repeat("t", 64), "1abc", "a/b"} {
		resp, data := s.Do(t, "PUT", "/v1/catalog/tags/pin/"+bad, map[string]any{"version": 18})
		if bad == "a/b" {
			// Not a tag route at all (two segments): never a 2xx.
			if resp.StatusCode < 400 {
				t.Errorf("tag %q: %d %s", bad, resp.StatusCode, data)
			}
			continue
		}
		if resp.StatusCode != 400 || !strings.Contains(string(data), "tag") {
			t.Errorf("tag %q: %d %s, want 400", bad, resp.StatusCode, data)
		}
	}
	// 63 characters is fine.
	s.JSON(t, "PUT", "/v1/catalog/tags/pin/"+strings.Repeat("t", 63), map[string]any{"version": 18}, 200, nil)
	s.JSON(t, "DELETE", "/v1/catalog/tags/pin/"+strings.Repeat("t", 63), nil, 200, nil)
	if e := s.Fail(t, "PUT", "/v1/catalog/tags/pin/later", map[string]any{"version": 99}, http.StatusNotFound); e.Error.Code != "not_found" {
		t.Fatalf("tag of an unknown version: %+v", e.Error)
	}
	e := s.Fail(t, "PUT", "/v1/catalog/tags/pin/old", map[string]any{"version": 3}, http.StatusGone)
	if e.Error.Code != "version_expired" {
		t.Fatalf("tag of an expired version: %+v", e.Error)
	}
	s.Fail(t, "PUT", "/v1/catalog/tags/pin/zero", map[string]any{"version": 0}, http.StatusBadRequest)
	s.Fail(t, "PUT", "/v1/catalog/tags/nope/golden", map[string]any{"version": 1}, http.StatusNotFound)
	s.Fail(t, "DELETE", "/v1/catalog/tags/pin/nosuchtag", nil, http.StatusNotFound)

	// Untag: v7 expires at once, with its Iceberg snapshot.
	s.JSON(t, "DELETE", "/v1/catalog/tags/pin/golden", nil, 200, nil)
	if got := numbers(versionsOf(t, s, "pin")); !slices.Equal(got, seq(16, 20)) {
		t.Fatalf("versions after untag: %v", got)
	}
	if e := s.Fail(t, "GET", "/v1/catalog/manifest/pin?version=7", nil, http.StatusGone); e.Error.Code != "version_expired" {
		t.Fatalf("v7 after untag: %+v", e.Error)
	}
	if e := sqlFail(t, s, `SELECT * FROM "pin@7"`, http.StatusGone); e.Error.Code != "version_expired" {
		t.Fatalf("pin@7 after untag: %+v", e.Error)
	}
	tbl = localTable(t, s, "pin")
	if r := refs(tbl); !slices.Equal(r, []string{"main", "v16", "v17", "v18", "v19", "v20"}) {
		t.Fatalf("iceberg refs after untag: %v", r)
	}
	// Moving a tag unpins the version it named: that one expires at once
	// too, as after an untag.
	for v := 21; v <= 22; v++ {
		ingestCSV(t, s, "name=pin&mode=append", rowsCSV(v, v), 201)
	}
	s.JSON(t, "PUT", "/v1/catalog/tags/pin/moving", map[string]any{"version": 18}, 200, nil)
	ingestCSV(t, s, "name=pin&mode=append", rowsCSV(23, 23), 201)
	if got := numbers(versionsOf(t, s, "pin")); !slices.Equal(got, []int{18, 19, 20, 21, 22, 23}) {
		t.Fatalf("versions with v18 pinned: %v", got)
	}
	s.JSON(t, "PUT", "/v1/catalog/tags/pin/moving", map[string]any{"version": 21}, 200, nil)
	if got := numbers(versionsOf(t, s, "pin")); !slices.Equal(got, seq(19, 23)) {
		t.Fatalf("versions after moving the tag from v18 to v21: %v", got)
	}
	if e := sqlFail(t, s, `SELECT * FROM "pin@18"`, http.StatusGone); e.Error.Code != "version_expired" {
		t.Fatalf("pin@18 after the move: %+v", e.Error)
	}
	s.JSON(t, "DELETE", "/v1/catalog/tags/pin/moving", nil, 200, nil)

	// A tag survives a restart and keeps pinning.
	s.JSON(t, "PUT", "/v1/catalog/tags/pin/keep.me-1", map[string]any{"version": 19}, 200, nil)
	s2 := s.Restart(t)
	ingestCSV(t, s2, "name=pin&mode=append", rowsCSV(24, 24), 201)
	if got := numbers(versionsOf(t, s2, "pin")); !slices.Equal(got, seq(19, 24)) {
		t.Fatalf("after restart and v24: %v", got)
	}
}

// TestRetentionPerDataset: PUT /v1/catalog/retention/<name> gives a
// dataset its own retention and applies it at once; reset goes back to
// the default; bad bodies are 400 naming the problem.
func TestRetentionPerDataset(t *testing.T) {
	s := startLake(t, keepVersions(10))
	for v := 1; v <= 8; v++ {
		ingestCSV(t, s, "name=own&mode=append", rowsCSV(v, v), 201)
	}
	ingestCSV(t, s, "name=other&mode=append", rowsCSV(1, 1), 201)
	ingestCSV(t, s, "name=other&mode=append", rowsCSV(2, 2), 201)

	var put struct {
		Retention catalog.RetentionInfo `json:"retention"`
		Expired   []int                 `json:"expired"`
	}
	s.JSON(t, "PUT", "/v1/catalog/retention/own", map[string]any{"keep_versions": 3}, 200, &put)
	if !slices.Equal(put.Expired, seq(1, 5)) || put.Retention.Source != "dataset" || put.Retention.KeepVersions != 3 ||
		!slices.Equal(put.Retention.Versions, seq(6, 8)) {
		t.Fatalf("PUT keep_versions 3: %+v", put)
	}
	if got := numbers(versionsOf(t, s, "own")); !slices.Equal(got, seq(6, 8)) {
		t.Fatalf("versions %v", got)
	}
	if e := sqlFail(t, s, `SELECT * FROM "own@5"`, http.StatusGone); !strings.Contains(e.Error.Message, "6-8") {
		t.Fatalf("own@5: %+v", e.Error)
	}
	// Other datasets keep the default.
	if got := numbers(versionsOf(t, s, "other")); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("other: %v", got)
	}
	// The next commit applies the dataset's retention too.
	ingestCSV(t, s, "name=own&mode=append", rowsCSV(9, 9), 201)
	if got := numbers(versionsOf(t, s, "own")); !slices.Equal(got, seq(7, 9)) {
		t.Fatalf("after v9: %v", got)
	}

	// Reset: back to the default (10); nothing comes back, nothing more goes.
	s.JSON(t, "PUT", "/v1/catalog/retention/own", map[string]any{"reset": true}, 200, &put)
	if put.Retention.Source != "default" || put.Retention.KeepVersions != 10 || len(put.Expired) != 0 {
		t.Fatalf("reset: %+v", put)
	}
	for v := 10; v <= 14; v++ {
		ingestCSV(t, s, "name=own&mode=append", rowsCSV(v, v), 201)
	}
	if got := numbers(versionsOf(t, s, "own")); !slices.Equal(got, seq(7, 14)) {
		t.Fatalf("after reset and 5 more: %v", got)
	}

	// keep_age: versions older than it go (the latest always stays).
	time.Sleep(1100 * time.Millisecond)
	ingestCSV(t, s, "name=own&mode=append", rowsCSV(15, 15), 201)
	// A field left out keeps the value in effect (keep_versions 10).
	s.JSON(t, "PUT", "/v1/catalog/retention/own", map[string]any{"keep_age": "1s"}, 200, &put)
	if !slices.Equal(put.Expired, seq(7, 14)) || put.Retention.KeepAge != "1s" || put.Retention.KeepVersions != 10 {
		t.Fatalf("keep_age 1s: %+v", put)
	}
	time.Sleep(1100 * time.Millisecond)
	rep := maintain(t, s, "own", false) // age passes: maintenance expires, but never the latest
	if len(rep.Datasets[0].Expired) != 0 {
		t.Fatalf("maintenance expired %v of a dataset with only its latest version", rep.Datasets[0].Expired)
	}
	if got := numbers(versionsOf(t, s, "own")); !slices.Equal(got, []int{15}) {
		t.Fatalf("after keep_age: %v", got)
	}
	// The dataset's own retention survives a restart.
	s = s.Restart(t)
	var info catalog.RetentionInfo
	s.JSON(t, "GET", "/v1/catalog/retention/own", nil, 200, &info)
	if info.Source != "dataset" || info.KeepAge != "1s" {
		t.Fatalf("after restart: %+v", info)
	}

	// Bad bodies: 400 naming what is wrong.
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"keep_versions": -1}, "keep_versions"},
		{map[string]any{"keep_age": "forever"}, "keep_age"},
		{map[string]any{"keep_age": "-1h"}, "keep_age"},
		{map[string]any{"keep_age": "40ms"}, "keep_age"}, // stored in seconds
		{map[string]any{"keep_versions": 3, "keep_forever": true}, "keep_forever"},
		{map[string]any{}, "keep_versions"},
		{map[string]any{"reset": true, "keep_versions": 3}, "reset"},
		{map[string]any{"keep_versions": "3"}, "keep_versions"},
		{`{"keep_versions": 3`, ""},
	} {
		e := s.Fail(t, "PUT", "/v1/catalog/retention/own", c.body, http.StatusBadRequest)
		if !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("body %v: message %q does not name %q", c.body, e.Error.Message, c.want)
		}
	}
	s.Fail(t, "PUT", "/v1/catalog/retention/nope", map[string]any{"keep_versions": 3}, http.StatusNotFound)
	s.Fail(t, "GET", "/v1/catalog/retention/nope", nil, http.StatusNotFound)
	s.JSON(t, "GET", "/v1/catalog/retention/own", nil, 200, &info)
	if info.Source != "dataset" || info.KeepAge != "1s" {
		t.Fatalf("a refused PUT changed the retention: %+v", info)
	}
}

// TestRetentionSurvivesRehydrate: the metadata database lost, a start
// rebuilds the catalog from the bucket alone: the kept versions (not the
// expired ones), the dataset's own retention and its tags come back,
// expired versions stay 410, and a replay with a kept key is recognised.
func TestRetentionSurvivesRehydrate(t *testing.T) {
	s := startLake(t, keepVersions(10))
	for v := 1; v <= 12; v++ {
		ingestCSV(t, s, fmt.Sprintf("name=rh&mode=append&idempotency_key=k%d", v), rowsCSV(v, v), 201)
	}
	s.JSON(t, "PUT", "/v1/catalog/retention/rh", map[string]any{"keep_versions": 4}, 200, nil)
	for v := 13; v <= 14; v++ {
		ingestCSV(t, s, fmt.Sprintf("name=rh&mode=append&idempotency_key=k%d", v), rowsCSV(v, v), 201)
	}
	s.JSON(t, "PUT", "/v1/catalog/tags/rh/first-kept", map[string]any{"version": 11}, 200, nil)
	for v := 15; v <= 16; v++ {
		ingestCSV(t, s, fmt.Sprintf("name=rh&mode=append&idempotency_key=k%d", v), rowsCSV(v, v), 201)
	}
	want := []int{11, 13, 14, 15, 16}
	if got := numbers(versionsOf(t, s, "rh")); !slices.Equal(got, want) {
		t.Fatalf("versions before %v, want %v", got, want)
	}
	s.Stop(t)
	if err := os.Remove(filepath.Join(s.DataDir, "meta.duckdb")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.DataDir, "meta.duckdb.wal")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s2 := s.Restart(t)
	if got := numbers(versionsOf(t, s2, "rh")); !slices.Equal(got, want) {
		t.Fatalf("versions after rehydrate %v, want %v", got, want)
	}
	var info catalog.RetentionInfo
	s2.JSON(t, "GET", "/v1/catalog/retention/rh", nil, 200, &info)
	if info.Source != "dataset" || info.KeepVersions != 4 || info.Tags["first-kept"] != 11 {
		t.Fatalf("retention after rehydrate %+v", info)
	}
	if e := sqlFail(t, s2, `SELECT * FROM "rh@12"`, http.StatusGone); e.Error.Code != "version_expired" {
		t.Fatalf("rh@12: %+v", e.Error)
	}
	if got := runSQL(t, s2, `SELECT count(*) FROM "rh@11"`); !slices.Equal(got, []string{"11"}) {
		t.Fatalf("rh@11 %v", got)
	}
	// A replay with the key of a kept version.
	if a := ingestCSV(t, s2, "name=rh&mode=append&idempotency_key=k15", rowsCSV(15, 15), 200); a.Version != 15 || !*a.Existing {
		t.Fatalf("replay k15: %+v", a.Manifest)
	}
	ingestCSV(t, s2, "name=rh&mode=append&idempotency_key=k17", rowsCSV(17, 17), 201)
	if got := numbers(versionsOf(t, s2, "rh")); !slices.Equal(got, []int{11, 14, 15, 16, 17}) {
		t.Fatalf("after v17: %v", got)
	}
	if got := runSQL(t, s2, `SELECT count(*) FROM rh`); !slices.Equal(got, []string{"17"}) {
		t.Fatalf("rows %v", got)
	}
}
