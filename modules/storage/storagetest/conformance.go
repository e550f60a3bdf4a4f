package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"lakehouse/modules/storage"
)

// RunConformance runs the behaviour every storage.Store must have.
// newStore returns an empty store for each subtest.
func RunConformance(t *testing.T, newStore func(t *testing.T) storage.Store) {
	ctx := context.Background()
	runConditional(t, newStore)
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s := newStore(t)
		data := randomBytes(t, 3<<20+17) // over several internal buffers
		info := mustPut(t, s, "datasets/a/part-0.parquet", data)
		if info.Size != int64(len(data)) || info.Key != "datasets/a/part-0.parquet" || info.ETag == "" {
			t.Fatalf("put info = %+v", info)
		}
		if got := mustGet(t, s, "datasets/a/part-0.parquet"); !bytes.Equal(got, data) {
			t.Fatalf("get returned %d bytes, want the %d put", len(got), len(data))
		}
	})
	t.Run("UnknownSize", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Put(ctx, "k", strings.NewReader("streamed"), -1); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "k"); string(got) != "streamed" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("EmptyObject", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "empty", nil)
		st, err := s.Stat(ctx, "empty")
		if err != nil || st.Size != 0 {
			t.Fatalf("stat = %+v, %v", st, err)
		}
	})
	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "o", []byte("first"))
		mustPut(t, s, "o", []byte("second, longer"))
		if got := mustGet(t, s, "o"); string(got) != "second, longer" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("StatAndNotFound", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "x/y.json", []byte(`{}`))
		st, err := s.Stat(ctx, "x/y.json")
		if err != nil || st.Size != 2 || st.Modified.IsZero() {
			t.Fatalf("stat = %+v, %v", st, err)
		}
		for _, k := range []string{"missing", "x/missing", "x"} {
			if _, err := s.Stat(ctx, k); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("stat %q: err = %v, want ErrNotFound", k, err)
			}
			if _, _, err := s.Get(ctx, k); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("get %q: err = %v, want ErrNotFound", k, err)
			}
		}
	})
	t.Run("ListPrefixAndPages", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i := 0; i < 25; i++ {
			k := fmt.Sprintf("p/%02d", i)
			want = append(want, k)
			mustPut(t, s, k, []byte{byte(i)})
		}
		mustPut(t, s, "p-other", []byte("x"))
		mustPut(t, s, "q/0", []byte("x"))
		var got []string
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			page, err := s.List(ctx, "p/", cursor, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Objects {
				got = append(got, o.Key)
			}
			if page.Cursor == "" {
				break
			}
			cursor = page.Cursor
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("listed %v, want %v", got, want)
		}
		all, err := s.List(ctx, "", "", 1000)
		if err != nil || len(all.Objects) != 27 || all.Cursor != "" {
			t.Fatalf("list all: %d objects, cursor %q, err %v", len(all.Objects), all.Cursor, err)
		}
		none, err := s.List(ctx, "nothing/", "", 10)
		if err != nil || len(none.Objects) != 0 {
			t.Fatalf("list empty prefix: %+v %v", none, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "d/1", []byte("1"))
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, "d/1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if page, _ := s.List(ctx, "d/", "", 10); len(page.Objects) != 0 {
			t.Fatalf("deleted key still listed: %+v", page.Objects)
		}
	})
	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "/abs", "a/../b", "..", "a/./b", "a//b", "nul\x00", "cr\r", "lf\n", "tab\t", strings.Repeat("k", 1025), "dir/"} {
			if _, err := s.Put(ctx, k, strings.NewReader("x"), 1); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("put %q: err = %v, want ErrInvalidKey", k, err)
			}
			if _, _, err := s.Get(ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("get %q: err = %v, want ErrInvalidKey", k, err)
			}
		}
		if _, err := s.List(ctx, "../", "", 10); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("list ../: err = %v", err)
		}
	})
	t.Run("SegmentLength", func(t *testing.T) {
		s := newStore(t)
		ok := "seg/" + strings.Repeat("s", storage.MaxSegmentLen)
		mustPut(t, s, ok, []byte("255"))
		long := "seg/" + strings.Repeat("s", storage.MaxSegmentLen+45) + "/x"
		if _, err := s.Put(ctx, long, strings.NewReader("x"), 1); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("put with a 300-byte segment: err = %v, want ErrInvalidKey", err)
		}
		if _, _, err := s.Get(ctx, long); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("get with a 300-byte segment: err = %v, want ErrInvalidKey", err)
		}
	})
	// An object that is also a prefix of other keys: S3 allows it, local
	// disk cannot (a path is a file or a directory). Either both objects
	// exist, or the second Put fails with ErrConflict naming the keys and
	// no server path; never another error, and the first object stays.
	t.Run("ObjectAlsoPrefix", func(t *testing.T) {
		for _, order := range [][2]string{{"c/a/b", "c/a/b/c"}, {"c/x/y/z", "c/x/y"}} {
			s := newStore(t)
			mustPut(t, s, order[0], []byte("first"))
			_, err := s.Put(ctx, order[1], strings.NewReader("second"), 6)
			switch {
			case err == nil:
				if got := mustGet(t, s, order[1]); string(got) != "second" {
					t.Errorf("%s: got %q", order[1], got)
				}
			case errors.Is(err, storage.ErrConflict):
				msg := err.Error()
				if !strings.Contains(msg, order[0]) && !strings.Contains(msg, order[1]) {
					t.Errorf("conflict does not name the keys: %v", err)
				}
				if strings.Contains(msg, os.TempDir()) || strings.Contains(msg, "/objects") {
					t.Errorf("conflict names a server path: %v", err)
				}
			default:
				t.Errorf("put %s after %s: err = %v, want nil or ErrConflict", order[1], order[0], err)
			}
			if got := mustGet(t, s, order[0]); string(got) != "first" {
				t.Errorf("%s changed to %q", order[0], got)
			}
			// Deleting a key that is only a prefix deletes nothing.
			if err := s.Delete(ctx, "c"); err != nil {
				t.Errorf("delete of a prefix: %v", err)
			}
			if got := mustGet(t, s, order[0]); string(got) != "first" {
				t.Errorf("%s changed to %q by deleting a prefix", order[0], got)
			}
			// Reading under an object is not found, not a path error.
			if _, _, err := s.Get(ctx, order[0]+"/deeper/x"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("get under an object: err = %v, want ErrNotFound", err)
			}
		}
	})
	t.Run("OddButValidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"with space/ü.txt", "100%/x", "a+b=c&d", "dots.../x..y"} {
			mustPut(t, s, k, []byte(k))
			if got := mustGet(t, s, k); string(got) != k {
				t.Errorf("key %q round trip got %q", k, got)
			}
		}
	})
	t.Run("ShortBodyFailsAndKeepsOld", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "keep", []byte("old"))
		_, err := s.Put(ctx, "keep", io.LimitReader(strings.NewReader("truncated body"), 4), 100)
		if err == nil {
			t.Fatal("put with fewer bytes than declared succeeded")
		}
		if got := mustGet(t, s, "keep"); string(got) != "old" {
			t.Fatalf("failed put changed the object to %q", got)
		}
	})
	t.Run("ConcurrentPutsSameKeyAreAtomic", func(t *testing.T) {
		s := newStore(t)
		payloads := make([][]byte, 6)
		for i := range payloads {
			payloads[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		}
		var wg sync.WaitGroup
		for _, p := range payloads {
			wg.Add(1)
			go func(p []byte) {
				defer wg.Done()
				if _, err := s.Put(ctx, "race", bytes.NewReader(p), int64(len(p))); err != nil {
					t.Error(err)
				}
			}(p)
		}
		wg.Wait()
		got := mustGet(t, s, "race")
		if len(got) != 256<<10 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) {
			t.Fatalf("object is a mix of concurrent writes (len %d)", len(got))
		}
	})
}

func mustPut(t *testing.T, s storage.Store, key string, data []byte) storage.ObjectInfo {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return info
}

func mustGet(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
