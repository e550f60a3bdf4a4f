package observer_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/storage/storagetest"
)

// With the S3 backend (a real MinIO) the audit trail lives in the bucket:
// segments replay after a restart and the dataset is queryable.
func TestS3PersistReplayAndSQL(t *testing.T) {
	s3 := storagetest.StartMinIO(t)
	s := apptest.Start(t, func(c *config.Config) {
		c.Storage.Backend = "s3"
		c.Storage.S3 = s3
		c.Observer.ParquetInterval = config.Duration(time.Hour) // export on flush only
	})
	for i := range 6 {
		s.JSON(t, "POST", "/v1/observer/event", map[string]any{"endpoint": fmt.Sprint("op", i), "source": "scenario"}, 200, nil)
	}
	s.JSON(t, "PUT", "/v1/storage/put/a.txt", "x", 201, nil)
	s = s.Restart(t)
	if st := stats(t, s); st.Total != 7 || st.BySource["scenario"] != 6 || st.BySource["audit"] != 1 {
		t.Fatalf("after restart on S3: %+v", st)
	}
	if got := getEvents(t, s, url.Values{"source": {"audit"}}).Events; len(got) != 1 || got[0]["module"] != "storage" {
		t.Fatalf("replayed audit rows = %v", got)
	}
	s.JSON(t, "POST", "/v1/observer/flush", nil, 200, nil)
	var ans apptest.SQLAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": "SELECT count(*) FROM observer_events WHERE source = 'scenario'"}, 200, &ans)
	if fmt.Sprint(ans.Rows) != "[[6]]" {
		t.Fatalf("SQL over the S3 dataset = %v", ans.Rows)
	}
}
