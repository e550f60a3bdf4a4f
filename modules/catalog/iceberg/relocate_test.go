package iceberg_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// TestDataDirMoved: a local data dir moved to another path (a volume
// mounted elsewhere, `mv data`) keeps working: the Iceberg tables,
// whose metadata holds absolute locations, are written again under the
// new root at start, and the next ingest commits.
func TestDataDirMoved(t *testing.T) {
	old := filepath.Join(t.TempDir(), "before")
	s := apptest.Start(t, func(c *config.Config) { c.DataDir = old })
	post := func(s *apptest.Server, q, body string) {
		t.Helper()
		resp, data := s.DoHeader(t, "POST", "/v1/ingest?"+q, body, http.Header{"Content-Type": {"text/csv"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("ingest %s: %d %s", q, resp.StatusCode, data)
		}
	}
	post(s, "name=people", "id,name\n1,a\n2,b\n")
	post(s, "name=people&mode=append", "id,name\n3,c\n")
	s.JSON(t, "PUT", "/v1/catalog/tags/people/first", map[string]any{"version": 1}, 200, nil)
	s.Stop(t)

	moved := filepath.Join(t.TempDir(), "after")
	if err := os.Rename(old, moved); err != nil {
		t.Fatal(err)
	}
	cfg := *s.Config
	cfg.DataDir, cfg.Listen = moved, "127.0.0.1:0"
	s2 := apptest.StartConfig(t, &cfg)
	post(s2, "name=people&mode=append", "id,name\n4,d\n")

	var table struct {
		MetadataLocation string         `json:"metadata-location"`
		Metadata         map[string]any `json:"metadata"`
	}
	s2.JSON(t, "GET", "/iceberg/v1/namespaces/default/tables/people", nil, 200, &table)
	if strings.Contains(table.MetadataLocation, old) || !strings.Contains(table.MetadataLocation, moved) {
		t.Fatalf("metadata location after the move: %s", table.MetadataLocation)
	}
	if loc, _ := table.Metadata["location"].(string); !strings.Contains(loc, moved) {
		t.Fatalf("table location after the move: %v", table.Metadata["location"])
	}
	snaps, _ := table.Metadata["snapshots"].([]any)
	refs, _ := table.Metadata["refs"].(map[string]any)
	if len(snaps) != 3 || refs["first"] == nil {
		t.Fatalf("after the move: %d snapshots, refs %v", len(snaps), refs)
	}
	var ans apptest.SQLAnswer
	s2.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM people"}, 200, &ans)
	if ans.Rows[0][0] != float64(4) {
		t.Fatalf("rows after the move: %v", ans.Rows)
	}
}
