package catalog_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestMaintenanceRacingCommits: maintenance passes (grace 0) run back to
// back while two writers append. A writer may be told to send a part
// again (503 "retry": maintenance deleted its not yet registered part),
// but a commit never fails otherwise, and the Iceberg table stays whole:
// iceberg-go reads every kept version the same as SQL.
func TestMaintenanceRacingCommits(t *testing.T) {
	s := startLake(t, keepVersions(5))
	ingestCSV(t, s, "name=race&mode=append", rowsCSV(0, 0), 201)
	var stop atomic.Bool
	var passes atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			req, _ := http.NewRequest("POST", s.URL+"/v1/catalog/maintenance?dataset=race", nil)
			req.Header.Set("Authorization", "Bearer "+s.Token)
			if resp, err := s.Client.Do(req); err == nil {
				resp.Body.Close()
				passes.Add(1)
			}
		}
	}()
	const each = 20
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				id := w*100 + i
				for try := 0; ; try++ {
					code, data := ingestRaw(t, s, "name=race&mode=append", rowsCSV(id, id))
					if code == 201 {
						break
					}
					if code == 503 && strings.Contains(string(data), `"code":"retry"`) && try < 5 {
						continue
					}
					t.Errorf("append %d: %d %s", id, code, data)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-done
	t.Logf("%d maintenance passes ran beside the appends", passes.Load())
	if got := runSQL(t, s, `SELECT count(*) FROM race`); !slices.Equal(got, []string{fmt.Sprint(1 + 2*each)}) {
		t.Errorf("rows %v, want %d", got, 1+2*each)
	}
	maintain(t, s, "race", false)
	tbl := localTable(t, s, "race")
	for _, m := range versionsOf(t, s, "race") {
		rows := runSQL(t, s, fmt.Sprintf(`SELECT * FROM "race@%d"`, m.Version))
		if got := icebergRows(t, tbl, fmt.Sprintf("v%d", m.Version)); !slices.Equal(got, sorted(rows)) {
			t.Errorf("v%d: iceberg %d rows, SQL %d", m.Version, len(got), len(rows))
		}
	}
	// And the dataset still takes commits.
	ingestCSV(t, s, "name=race&mode=append", rowsCSV(999, 999), 201)
}
