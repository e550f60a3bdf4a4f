package storagetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"lakehouse/modules/storage"
)

// runConditional checks a Conditional store's compare-and-swap: of many
// writers creating one key at once exactly one wins; a replace with the
// ETag read before wins once, a second with the same ETag loses; a
// replace of a missing object loses; a loser writes nothing.
func runConditional(t *testing.T, newStore func(t *testing.T) storage.Store) {
	ctx := context.Background()
	t.Run("ConditionalPut", func(t *testing.T) {
		s := newStore(t)
		c, ok := s.(storage.Conditional)
		if !ok {
			t.Skip("the store has no conditional writes")
		}
		const writers = 8
		var wg sync.WaitGroup
		wins := make(chan string, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := "writer-" + string(rune('a'+i))
				_, err := c.PutIfAbsent(ctx, "_cluster/lease.json", strings.NewReader(body), int64(len(body)))
				switch {
				case err == nil:
					wins <- body
				case !errors.Is(err, storage.ErrPreconditionFailed):
					t.Errorf("writer %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []string
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 {
			t.Fatalf("%d writers created the key, want exactly 1: %v", len(won), won)
		}
		if got := mustGet(t, s, "_cluster/lease.json"); string(got) != won[0] {
			t.Fatalf("object holds %q, the winner wrote %q", got, won[0])
		}
		st, err := s.Stat(ctx, "_cluster/lease.json")
		if err != nil {
			t.Fatal(err)
		}
		next, err := c.PutIfMatch(ctx, "_cluster/lease.json", strings.NewReader("second"), 6, st.ETag)
		if err != nil {
			t.Fatalf("replace with the current ETag: %v", err)
		}
		if next.ETag == "" || next.ETag == st.ETag {
			t.Fatalf("a replace must answer a new ETag: %q after %q", next.ETag, st.ETag)
		}
		if _, err := c.PutIfMatch(ctx, "_cluster/lease.json", strings.NewReader("stale"), 5, st.ETag); !errors.Is(err, storage.ErrPreconditionFailed) {
			t.Fatalf("replace with a stale ETag: %v, want ErrPreconditionFailed", err)
		}
		if got := mustGet(t, s, "_cluster/lease.json"); string(got) != "second" {
			t.Fatalf("a refused write changed the object: %q", got)
		}
		if _, err := c.PutIfMatch(ctx, "_cluster/none.json", strings.NewReader("x"), 1, next.ETag); !errors.Is(err, storage.ErrPreconditionFailed) {
			t.Fatalf("replace of a missing object: %v, want ErrPreconditionFailed", err)
		}
		if _, err := s.Stat(ctx, "_cluster/none.json"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a refused write created the object: %v", err)
		}
	})
}
