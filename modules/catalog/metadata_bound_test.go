package catalog_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

var metadataJSONRE = regexp.MustCompile(`^v\d+\.metadata\.json$`)

// metadataFolder counts a table's metadata objects, and its vN.metadata.json.
func metadataFolder(t *testing.T, s *apptest.Server, name string) (all, metaJSON int, kinds map[string]int) {
	t.Helper()
	ents, err := os.ReadDir(objectPath(s, "datasets/"+name+"/metadata"))
	if err != nil {
		t.Fatal(err)
	}
	kinds = map[string]int{}
	for _, e := range ents {
		all++
		switch n := e.Name(); {
		case metadataJSONRE.MatchString(n):
			metaJSON++
			kinds["metadata.json"]++
		case n == "version-hint.text":
			kinds["hint"]++
		case strings.HasPrefix(n, "snap-"):
			kinds["manifest list"]++
		default:
			kinds["manifest"]++
		}
	}
	return all, metaJSON, kinds
}

// TestMetadataBounded: 60 appends with keep_versions 10 and
// metadata_files 5. After a maintenance pass (grace 0) the metadata
// folder holds at most 5 vN.metadata.json, and it does not grow with the
// history: the count after the pass at append 60 is no more than at
// append 40 plus the manifests one merge cycle may hold. iceberg-go
// still loads the table and reads every kept version.
func TestMetadataBounded(t *testing.T) {
	s := startLake(t, keepVersions(10), func(c *config.Config) { c.Catalog.Maintenance.MetadataFiles = 5 })
	counts := map[int]int{}
	for i := 1; i <= 60; i++ {
		ingestCSV(t, s, "name=mb&mode=append", rowsCSV(i, i), 201)
		if _, metaJSON, _ := metadataFolder(t, s, "mb"); metaJSON > 5 {
			t.Fatalf("after append %d: %d metadata JSON files, want at most 5", i, metaJSON)
		}
		if i >= 40 {
			maintain(t, s, "mb", false)
			all, metaJSON, kinds := metadataFolder(t, s, "mb")
			if metaJSON > 5 {
				t.Fatalf("after append %d and a pass: %d metadata JSON files", i, metaJSON)
			}
			counts[i] = all
			t.Logf("append %d: %d objects %v", i, all, kinds)
		}
	}
	if got := numbers(versionsOf(t, s, "mb")); !slices.Equal(got, seq(51, 60)) {
		t.Fatalf("versions %v", got)
	}
	tbl := localTable(t, s, "mb")
	if got := len(tbl.Metadata().Snapshots()); got != 10 {
		t.Errorf("%d snapshots, want 10", got)
	}
	for v := 51; v <= 60; v++ {
		if got := icebergRows(t, tbl, fmt.Sprintf("v%d", v)); len(got) != v {
			t.Errorf("iceberg v%d: %d rows, want %d", v, len(got), v)
		}
	}
	// What the folder may hold whatever the history: the kept metadata
	// files, the hint, one manifest list per kept snapshot, and manifests:
	// one per append since the last merge (a merge happens at 16) plus
	// those the older kept snapshots still name.
	const bound = 5 + 1 + 10 + (10 + 16)
	for i := 40; i <= 60; i++ {
		if counts[i] > bound {
			t.Errorf("after append %d: %d metadata objects, more than %d", i, counts[i], bound)
		}
	}
	// The count cycles with the manifest merges; from append 40 to 60 it
	// may rise by the manifests one merge cycle adds, never by history.
	if counts[60] > counts[40]+16 {
		t.Errorf("metadata folder grew from %d objects (append 40) to %d (append 60)", counts[40], counts[60])
	}
	if lo40, lo60 := slices.Min(window(counts, 40, 54)), slices.Min(window(counts, 46, 60)); lo60 > lo40 {
		t.Errorf("the folder's low point over a merge cycle grew from %d to %d", lo40, lo60)
	}
}

func window(counts map[int]int, from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, counts[i])
	}
	return out
}
