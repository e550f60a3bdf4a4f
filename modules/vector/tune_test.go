package vector

import (
	"errors"
	"fmt"
	"testing"

	"lakehouse/internal/racetest"
	"lakehouse/modules/vector/internal/synth"
)

// TestTargetRecallChoosesEf: an index created with a recall target gets
// an ef measured on its own items when it is filled (and re-measured on
// reload); searches without ef then reach the target on fresh queries,
// while an index without a target keeps ef_search 20.
func TestTargetRecallChoosesEf(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 6k-item index")
	}
	// One sequential writer filling 6k items, then recall measured: the
	// race pass covers the same add and reload paths in smaller tests.
	racetest.CPUBound(t)
	s := newTestService(t, nil, nil)
	if _, err := s.Create(ctxb(), IndexSpec{Name: "bad", Dim: 4, TargetRecall: 1.5}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("target_recall 1.5: %v", err)
	}
	mustCreate(t, s, IndexSpec{Name: "tr", Dim: 64, TargetRecall: 0.99, EfConstruction: 32})
	base, queries := synth.Clustered(31, 6000, 200, 64)
	for off := 0; off < len(base); off += 1000 {
		var items []Item
		for i := off; i < off+1000; i++ {
			items = append(items, Item{ID: fmt.Sprint(i), Vector: base[i]})
		}
		if err := s.Add(ctxb(), "tr", items); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := s.Info(ctxb(), "tr")
	if info.EfTuned <= 0 || info.TunedRecall < 0.99 || info.EfSearch != 20 || info.TunedAtLength < 4000 {
		t.Fatalf("info after fill: %+v", info)
	}
	ix, _ := s.get("tr")
	hit := 0
	for _, q := range queries {
		res, _, err := ix.searchPlan(q, 10, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		ix.mu.RLock()
		exact, _, _ := ix.exact(q, 10, ix.accept(nil))
		ix.mu.RUnlock()
		want := map[string]bool{}
		for _, e := range exact {
			want[ix.ids[e.ID]] = true
		}
		for _, r := range res {
			if want[r.ID] {
				hit++
			}
		}
	}
	recall := float64(hit) / float64(10*len(queries))
	t.Logf("target 0.99: ef %d (sample recall %.4f at %d items); fresh queries recall@10 %.4f", info.EfTuned, info.TunedRecall, info.TunedAtLength, recall)
	if recall < 0.985 {
		t.Errorf("recall@10 with the tuned ef %d is %.4f, target 0.99", info.EfTuned, recall)
	}
	if info2, _ := reopen(t, s).Info(ctxb(), "tr"); info2.EfTuned == 0 || info2.TargetRecall != 0.99 {
		t.Errorf("after reload: %+v", info2)
	}
}
