package observer_test

import (
	"fmt"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// The dataset's parts are rewritten as one file once a version has
// parquet_compact_files of them, and SQL still sees every event once.
func TestDatasetCompactionKeepsEveryRow(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Observer.ParquetCompactFiles = 3
		c.Observer.ParquetInterval = config.Duration(time.Hour) // exports only on flush
	})
	for round := range 5 {
		for i := range 4 {
			s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": fmt.Sprint("r", round, "e", i), "source": "scenario"}, 200, nil)
		}
		s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	}
	var man struct {
		Files []struct {
			Key string `json:"key"`
		} `json:"files"`
		RowCount int `json:"row_count"`
	}
	s.JSON(t, "GET", "/v1/catalog/manifest/observer_events", nil, 200, &man)
	if len(man.Files) >= 3 {
		t.Fatalf("dataset not compacted: %d parts", len(man.Files))
	}
	var ans apptest.SQLAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*), count(DISTINCT id), min(id), count(*) FILTER (WHERE source = 'scenario') FROM observer_events"}, 200, &ans)
	row := ans.Rows[0]
	if row[0] != row[1] || row[2] != float64(1) || row[3] != float64(20) || int(row[0].(float64)) != man.RowCount {
		t.Fatalf("after compaction: %v (manifest rows %d, parts %v)", row, man.RowCount, man.Files)
	}
}
