package ingest_test

import (
	"fmt"
	"strings"
	"testing"

	"lakehouse/app/apptest"
)

// TestHTTPTooManyColumns: the reported 164 KiB, 20 000-column, 1-row CSV
// is a 400 naming the limit (ingest.max_columns, default 4096) and the
// count; nothing is registered, and a 4096-column file still ingests.
func TestHTTPTooManyColumns(t *testing.T) {
	s := apptest.Start(t)
	wide := func(n int) string {
		var h, v []string
		for i := range n {
			h = append(h, fmt.Sprintf("c%d", i))
			v = append(v, "1")
		}
		return strings.Join(h, ",") + "\n" + strings.Join(v, ",") + "\n"
	}
	e := ingestFail(t, s, "name=wide", wide(20000), 400)
	for _, w := range []string{"20000 columns", "4096", "ingest.max_columns"} {
		if !strings.Contains(e.Error.Message, w) {
			t.Fatalf("message %q does not mention %q", e.Error.Message, w)
		}
	}
	ingestFail(t, s, "name=wide", wide(4097), 400)
	s.Fail(t, "GET", "/v1/catalog/manifest/wide", nil, 404)
	res := postCSV(t, s, "name=wide", wide(4096), 201)
	if len(res.Schema) != 4096 {
		t.Fatalf("schema of %d columns", len(res.Schema))
	}
}
