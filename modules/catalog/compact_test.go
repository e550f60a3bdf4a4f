package catalog_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/catalog"
)

func compactMinParts(n int) func(*config.Config) {
	return func(c *config.Config) { c.Catalog.Maintenance.CompactMinParts = n }
}

// settled waits until the latest version of name has fewer than limit
// parts and no compaction changed it for a moment; it returns it.
func settled(t *testing.T, s *apptest.Server, name string, limit int) catalog.Manifest {
	t.Helper()
	var m catalog.Manifest
	apptest.WaitFor(t, name+" compacted below "+fmt.Sprint(limit)+" parts", func() bool {
		s.JSON(t, "GET", "/v1/catalog/manifest/"+name, nil, 200, &m)
		return len(m.Files) < limit
	})
	for {
		time.Sleep(300 * time.Millisecond)
		var again catalog.Manifest
		s.JSON(t, "GET", "/v1/catalog/manifest/"+name, nil, 200, &again)
		if again.Version == m.Version {
			return m
		}
		m = again
	}
}

// snapshotOf finds the snapshot a version's tag names.
func snapshotOf(t *testing.T, tbl *table.Table, v int) *table.Snapshot {
	t.Helper()
	var ref table.SnapshotRef
	ok := false
	for n, r := range tbl.Metadata().Refs() {
		if n == fmt.Sprintf("v%d", v) {
			ref, ok = r, true
		}
	}
	if !ok {
		t.Fatalf("iceberg has no tag v%d (refs %v)", v, refs(tbl))
	}
	sn := tbl.Metadata().SnapshotByID(ref.SnapshotID)
	if sn == nil {
		t.Fatalf("tag v%d names a missing snapshot", v)
	}
	return sn
}

// TestCompactionSmallAppends: with compact_min_parts 4, twelve one-row
// appends end in fewer parts; every version (compactions included)
// reads the same through SQL and through apache/iceberg-go; a
// compaction is a "replace" snapshot with the rows of the version before
// it in the same order; replaying an append whose part was compacted
// away — and later deleted — is still recognised (200, no new rows).
func TestCompactionSmallAppends(t *testing.T) {
	s := startLake(t, compactMinParts(4))
	const n = 12
	want := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		a := ingestCSV(t, s, fmt.Sprintf("name=cmp&mode=append&idempotency_key=k%d", i), rowsCSV(i, i), 201)
		if a.Source == "compaction" || a.Compacted {
			t.Fatalf("append %d answered with a compaction version: %+v", i, a.Manifest)
		}
		want = append(want, fmt.Sprintf("%d|r%d", i, i))
	}
	latest := settled(t, s, "cmp", 4)
	if len(latest.Files) >= n || latest.RowCount != n {
		t.Fatalf("latest v%d: %d parts, %d rows", latest.Version, len(latest.Files), latest.RowCount)
	}
	if got := runSQL(t, s, `SELECT * FROM cmp ORDER BY id`); !slices.Equal(got, sortedByID(want)) {
		t.Fatalf("rows after compaction %v, want %v", got, want)
	}
	// Unordered too: compaction merges consecutive parts, so the rows keep
	// the order of their appends.
	if got := runSQL(t, s, `SELECT * FROM cmp`); !slices.Equal(got, want) {
		t.Errorf("row order after compaction %v, want %v", got, want)
	}
	checkCompactedVersions(t, s, "cmp", true)

	// Replay of an append whose part was compacted away: 200, existing,
	// no new rows, no new version.
	for _, key := range []string{"k2", ""} {
		q := "name=cmp&mode=append"
		if key != "" {
			q += "&idempotency_key=" + key
		}
		a := ingestCSV(t, s, q, rowsCSV(2, 2), 200)
		if a.Existing == nil || !*a.Existing {
			t.Fatalf("replay (key %q): %+v", key, a)
		}
	}
	var now catalog.Manifest
	s.JSON(t, "GET", "/v1/catalog/manifest/cmp", nil, 200, &now)
	if now.Version != latest.Version || now.RowCount != n {
		t.Fatalf("replays changed the dataset: v%d rows %d", now.Version, now.RowCount)
	}

	// Keep only the latest version; a maintenance pass then deletes the
	// original small parts. A replay is still recognised, and the part
	// it uploaded again is swept as an orphan.
	var put struct {
		Expired []int `json:"expired"`
	}
	s.JSON(t, "PUT", "/v1/catalog/retention/cmp", map[string]any{"keep_versions": 1}, 200, &put)
	if len(put.Expired) == 0 {
		t.Fatal("keep_versions 1 expired nothing")
	}
	rep := maintain(t, s, "cmp", false)
	if rep.Datasets[0].RemovedFiles < n {
		t.Fatalf("maintenance removed %d files, want at least the %d original parts: %+v", rep.Datasets[0].RemovedFiles, n, rep.Datasets[0])
	}
	for _, f := range now.Files {
		if !exists(s, f.Key) {
			t.Fatalf("maintenance removed %s of the latest version", f.Key)
		}
	}
	for _, c := range []struct{ key, csv string }{{"k5", rowsCSV(5, 5)}, {"", rowsCSV(6, 6)}} {
		q := "name=cmp&mode=append"
		if c.key != "" {
			q += "&idempotency_key=" + c.key
		}
		if a := ingestCSV(t, s, q, c.csv, 200); a.Existing == nil || !*a.Existing || a.Version != now.Version {
			t.Fatalf("replay (key %q) after its part was deleted: %+v", c.key, a)
		}
	}
	// The same key with other content: still a conflict.
	code, data := ingestRaw(t, s, "name=cmp&mode=append&idempotency_key=k5", rowsCSV(77, 77))
	if code != 409 {
		t.Fatalf("key k5 with other content: %d %s", code, data)
	}
	if got := runSQL(t, s, `SELECT count(*) FROM cmp`); !slices.Equal(got, []string{fmt.Sprint(n)}) {
		t.Fatalf("rows after replays %v", got)
	}
	rep = maintain(t, s, "cmp", false)
	if rep.Datasets[0].RemovedFiles < 2 {
		t.Errorf("the parts the replays uploaded again were not swept: %+v", rep.Datasets[0])
	}
	if got := runSQL(t, s, `SELECT * FROM cmp ORDER BY id`); !slices.Equal(got, sortedByID(want)) {
		t.Fatalf("rows after the sweep %v", got)
	}
	checkCompactedVersions(t, s, "cmp", false)
}

// checkCompactedVersions: every version kept reads the same through SQL
// and iceberg-go; at least one is a compaction (wantCompaction), whose snapshot is a
// "replace" and whose rows (in order) are its predecessor's.
func checkCompactedVersions(t *testing.T, s *apptest.Server, name string, wantCompaction bool) {
	t.Helper()
	vs := versionsOf(t, s, name)
	tbl := localTable(t, s, name)
	if got := len(tbl.Metadata().Snapshots()); got != len(vs) {
		t.Errorf("iceberg has %d snapshots, the catalog %d versions", got, len(vs))
	}
	compactions := 0
	for i, m := range vs {
		rows := runSQL(t, s, fmt.Sprintf(`SELECT * FROM "%s@%d"`, name, m.Version))
		if got := icebergRows(t, tbl, fmt.Sprintf("v%d", m.Version)); !slices.Equal(got, sorted(rows)) {
			t.Errorf("v%d: iceberg %v, SQL %v", m.Version, got, rows)
		}
		op := snapshotOf(t, tbl, m.Version).Summary.Operation
		if !m.Compacted {
			if op == table.OpReplace {
				t.Errorf("v%d (source %q) is a replace snapshot", m.Version, m.Source)
			}
			continue
		}
		compactions++
		if m.Source != "compaction" || op != table.OpReplace {
			t.Errorf("compaction v%d: source %q, snapshot %q", m.Version, m.Source, op)
		}
		if i > 0 && vs[i-1].Version == m.Version-1 {
			prev := runSQL(t, s, fmt.Sprintf(`SELECT * FROM "%s@%d"`, name, m.Version-1))
			if !slices.Equal(rows, prev) {
				t.Errorf("compaction v%d changed the rows: %v, before %v", m.Version, rows, prev)
			}
			if len(m.Files) >= len(vs[i-1].Files) {
				t.Errorf("compaction v%d has %d parts, v%d had %d", m.Version, len(m.Files), m.Version-1, len(vs[i-1].Files))
			}
		}
	}
	if wantCompaction && compactions == 0 {
		t.Errorf("no compaction version among %v", numbers(vs))
	}
	if got := icebergRows(t, tbl, "main"); !slices.Equal(got, sorted(runSQL(t, s, `SELECT * FROM "`+name+`"`))) {
		t.Errorf("iceberg main %v", got)
	}
}

// sortedByID orders "id|..." rows by their numeric id.
func sortedByID(rows []string) []string {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b string) int {
		var x, y int
		fmt.Sscanf(a, "%d|", &x)
		fmt.Sscanf(b, "%d|", &y)
		return x - y
	})
	return out
}

// TestCompactionWhileAppending: compaction runs in the background while
// three writers keep appending; no row is lost or doubled, and every
// version reads the same through SQL and iceberg-go.
func TestCompactionWhileAppending(t *testing.T) {
	s := startLake(t, compactMinParts(4))
	const writers, each = 3, 10
	errs := make(chan string, writers*each)
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				id := w*100 + i
				if code, data := ingestRaw(t, s, "name=busy&mode=append", rowsCSV(id, id)); code != 201 {
					errs <- fmt.Sprintf("append %d: %d %s", id, code, data)
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	latest := settled(t, s, "busy", 4)
	if latest.RowCount != writers*each {
		t.Fatalf("latest v%d holds %d rows, want %d", latest.Version, latest.RowCount, writers*each)
	}
	if got := runSQL(t, s, `SELECT count(*), count(DISTINCT id) FROM busy`); !slices.Equal(got, []string{fmt.Sprintf("%d|%d", writers*each, writers*each)}) {
		t.Fatalf("rows %v", got)
	}
	// Each writer's rows in its own order.
	for w := range writers {
		got := runSQL(t, s, fmt.Sprintf(`SELECT id FROM busy WHERE id BETWEEN %d AND %d`, w*100, w*100+99))
		var want []string
		for i := range each {
			want = append(want, fmt.Sprint(w*100+i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("writer %d's rows in order %v, want %v", w, got, want)
		}
	}
	checkCompactedVersions(t, s, "busy", true)
}
