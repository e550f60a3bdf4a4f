package catalog_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestCommitsOfDatasetsRunSideBySide: writers of different datasets hold
// only their own dataset's lock, so concurrent appends, retention
// changes and maintenance passes over several datasets all land, each
// dataset whole, with no write-write conflict in the metadata database.
func TestCommitsOfDatasetsRunSideBySide(t *testing.T) {
	s := startLake(t, compactMinParts(3))
	names := []string{"par_a", "par_b", "par_c"}
	const each = 12
	var wg sync.WaitGroup
	errs := make(chan string, len(names)*each+len(names))
	for _, name := range names {
		for i := 1; i <= each; i++ {
			wg.Add(1)
			go func(name string, i int) {
				defer wg.Done()
				if code, body := ingestRaw(t, s, "name="+name+"&mode=append", rowsCSV(i, i)); code != 201 && code != 200 {
					errs <- fmt.Sprintf("%s append %d: %d %s", name, i, code, body)
				}
			}(name, i)
		}
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			resp, body := s.Do(t, "POST", "/v1/catalog/maintenance?dataset="+name, nil)
			if resp.StatusCode != 200 && resp.StatusCode != 404 { // 404: not created yet
				errs <- fmt.Sprintf("%s maintenance: %d %s", name, resp.StatusCode, body)
			}
		}(name)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := make([]string, 0, each)
	for i := 1; i <= each; i++ {
		want = append(want, fmt.Sprintf("%d|r%d", i, i))
	}
	for _, name := range names {
		if got := runSQL(t, s, "SELECT * FROM "+name+" ORDER BY id"); !slices.Equal(got, sortedByID(want)) {
			t.Errorf("%s holds %v, want %v", name, got, want)
		}
	}
}
