package hnsw

import (
	"math/rand/v2"
	"testing"
)

// TestEveryNodeReachable: after Repair no live node is unreachable from
// the entry point (an orphan can never be found by a graph search), in a
// sequential build and in a parallel one, whose interleaving can prune a
// node's last in-link while it is being inserted.
func TestEveryNodeReachable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for round := 0; round < 4; round++ {
		base := make([][]float32, 3000)
		for i := range base {
			base[i] = make([]float32, 16)
			for j := range base[i] {
				base[i][j] = float32(rng.NormFloat64())
			}
		}
		workers := 1 + round%2*3
		g := build(t, Config{Dim: 16, Metric: Cosine, Seed: uint64(round)}, base, workers)
		before := g.Unreachable()
		fixed := g.Repair()
		t.Logf("round %d (%d workers): %d of %d nodes unreachable before repair, %d re-linked", round, workers, before, g.Len(), fixed)
		if n := g.Unreachable(); n != 0 {
			t.Errorf("round %d (%d workers): %d of %d nodes unreachable after repair", round, workers, n, g.Len())
		}
	}
}

// TestRepairRelinksOrphans orphans nodes on purpose (every in-link to
// them removed, so lists are full elsewhere too) and checks that Repair
// makes each reachable again and findable by a graph search, without
// orphaning anything else.
func TestRepairRelinksOrphans(t *testing.T) {
	base, _ := clustered(3, 4000, 0, 32)
	g := build(t, Config{Dim: 32, Metric: Cosine, M: 4, Seed: 9}, base, 1)
	ep, _, _ := g.getEntry()
	victims := map[uint32]bool{}
	for id := uint32(1); len(victims) < 40; id += 97 {
		if id != ep {
			victims[id] = true
		}
	}
	// Cut every level-0 in-link to a victim.
	for x := 0; x < g.Len(); x++ {
		ls := g.list(uint32(x), 0)
		kept := ls[1:1]
		for _, nb := range ls[1 : 1+ls[0]] {
			if !victims[nb] {
				kept = append(kept, nb)
			}
		}
		ls[0] = uint32(len(kept))
	}
	if n := g.Unreachable(); n < len(victims) {
		t.Fatalf("setup: only %d unreachable", n)
	}
	fixed := g.Repair()
	if n := g.Unreachable(); n != 0 {
		t.Fatalf("%d nodes unreachable after repair (%d re-linked)", n, fixed)
	}
	for v := range victims {
		res, err := g.Search(g.Vector(v), 1, 64, nil)
		if err != nil || len(res) == 0 || res[0].ID != v {
			t.Errorf("victim %d not found by its own vector after repair: %v %v", v, res, err)
		}
	}
	t.Logf("%d orphans made, %d re-linked", len(victims), fixed)
}

// TestSearchWithoutLeavesTheNodeOut: the skipped node is never returned,
// and the rest of the answer still matches exact search without it.
func TestSearchWithoutLeavesTheNodeOut(t *testing.T) {
	base, _ := clustered(4, 3000, 0, 32)
	g := build(t, Config{Dim: 32, Metric: Cosine, Seed: 2}, base, 1)
	miss := 0
	for id := uint32(0); id < 3000; id += 151 {
		res, err := g.SearchWithout(g.Vector(id), 10, 200, id, nil)
		if err != nil || len(res) != 10 {
			t.Fatalf("%d: %v %v", id, res, err)
		}
		exact, _ := g.Exact(g.Vector(id), 10, func(n uint32) bool { return n != id })
		want := map[uint32]bool{}
		for _, e := range exact {
			want[e.ID] = true
		}
		for _, r := range res {
			if r.ID == id {
				t.Fatalf("skipped node %d returned", id)
			}
			if !want[r.ID] {
				miss++
			}
		}
	}
	if miss > 4 {
		t.Errorf("%d misses at ef 200", miss)
	}
}
