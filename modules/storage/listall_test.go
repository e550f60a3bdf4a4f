package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestEachWalksEveryPage: Each and ListAll see every object under the
// prefix across pages, in key order, and an error from fn stops the walk.
func TestEachWalksEveryPage(t *testing.T) {
	ctx := context.Background()
	st, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*listPage + 7
	for i := range n {
		if _, err := st.Put(ctx, fmt.Sprintf("a/%05d", i), strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "b/other", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	all, err := ListAll(ctx, st, "a/")
	if err != nil || len(all) != n {
		t.Fatalf("ListAll: %d objects, %v", len(all), err)
	}
	for i, o := range all {
		if o.Key != fmt.Sprintf("a/%05d", i) {
			t.Fatalf("object %d is %s", i, o.Key)
		}
	}
	stop := errors.New("stop")
	seen := 0
	err = Each(ctx, st, "a/", func(ObjectInfo) error {
		seen++
		if seen == listPage+1 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != listPage+1 {
		t.Fatalf("Each after an error: %d seen, %v", seen, err)
	}
}
