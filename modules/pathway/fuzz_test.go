package pathway

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReplay: replaying any bytes never panics, leaves a usable store,
// and a write made after it survives the next restart. The seed corpus
// runs in a normal `go test`.
func FuzzReplay(f *testing.F) {
	seeds := []string{
		"",
		"\n\n\n",
		`{"op":"add","trace":{"uid":"a","content":1,"created_at_ns":1,"updated_at_ns":1}}` + "\n",
		`{"op":"add","trace":{"uid":"a","content":1,"predecessor_uid":"a"}}` + "\n" + `{"op":"replay","uid":"a"}`,
		`{"op":"update","uid":"a","content":{"x":[1,2,{"y":null}]},"tags":null}`,
		`{"op":"add","trace":{"uid":"a","content":"x","retired":true,"replay_count":-5}}`,
		`{"op":"retire","uid":"a"}{"op":"retire","uid":"a"}`,
		`{"op":"add","trace":{"uid":"b","content":"`,
		"\x00\xff\xfe{{{[[[",
		`{"op":1,"trace":"nope","uid":[],"content":"\ud800"}`,
		`{"op":"add","trace":{"uid":"c","content":1e999}}`,
		`{"op":"revise","trace":{"uid":"d","content":true,"tags":["a","a",""]}}` + "\r\n",
	}
	// A record too deep for encoding/json inside its line (written
	// before pathway.max_json_depth): replay must keep it.
	deep := strings.Repeat("[", 9999) + "1" + strings.Repeat("]", 9999)
	seeds = append(seeds, `{"op":"add","trace":{"uid":"deep","content":`+deep+`}}`+"\n"+`{"op":"update","uid":"deep","content":`+deep+`}`)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "traces.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{Logger: quietLog})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		st, _ := s.Stats(ctx)
		if st.Total != st.Active+st.Retired || st.Active < 0 {
			t.Fatalf("inconsistent stats %+v", st)
		}
		for uid := range s.st.traces {
			s.History(ctx, uid) // must terminate, cycles included
		}
		s.Search(ctx, Query{Text: "a b"})
		tr, err := s.Add(ctx, NewTrace{Content: raw(`{"marker":true}`)})
		if err != nil {
			t.Fatalf("add after replay: %v", err)
		}
		s.Close()
		s2, err := Open(path, Options{Logger: quietLog})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s2.Close()
		got, err := s2.Get(ctx, tr.UID)
		if err != nil || !bytes.Equal(got.Content, []byte(`{"marker":true}`)) {
			t.Fatalf("write after fuzzed log lost: %v", err)
		}
		st2, _ := s2.Stats(ctx)
		if st2.Total != st.Total+1 {
			t.Fatalf("restart changed stats: %+v then %+v", st, st2)
		}
	})
}
