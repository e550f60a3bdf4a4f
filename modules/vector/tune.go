package vector

import "math/rand/v2"

// Recall targets an index may carry, and the measurement's shape.
const (
	minTargetRecall = 0.5
	maxTargetRecall = 0.999
	// tuneMin is the length from which an index is tuned: below it,
	// searches are nearly exact at any ef.
	tuneMin = 1000
	// tuneSample is how many of the index's own items serve as queries.
	tuneSample = 200
	tuneK      = 10
)

// efLadder is the ef values tried, smallest first.
var efLadder = []int{10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048}

// tuning is the outcome of the last measurement.
type tuning struct {
	ef     int
	recall float64
	at     int // live items when measured
}

// retune measures ef for the index's target recall when it has none yet
// or has doubled since, so the cost (an exact scan per sampled query) is
// paid O(log n) times over the index's growth. Call with writeMu held
// (no batch runs), not mu.
func (ix *index) retune(maxEf int) {
	ix.mu.RLock()
	target, live, at := ix.spec.TargetRecall, ix.live, ix.tuned.at
	ix.mu.RUnlock()
	if target == 0 || live < tuneMin || (at > 0 && live < 2*at) {
		return
	}
	t := ix.measureEf(target, maxEf)
	ix.mu.Lock()
	ix.tuned = t
	ix.mu.Unlock()
}

// measureEf samples live items, takes each one's vector as a query with
// the item left out (not returned, not expanded: as if a new item came
// there), and returns the smallest ef of the ladder whose mean recall@10
// against an exact scan reaches target (the largest tried when none
// does). Leaving the item out matters: a search from an item's own vector
// that may walk through it reads optimistic (ef 12 measured 0.995 where
// new queries got 0.97); left out, the estimate came out slightly
// pessimistic in tests, which covers the growth until the next measurement.
func (ix *index) measureEf(target float64, maxEf int) tuning {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	rng := rand.New(rand.NewPCG(uint64(ix.live), 7))
	var nodes []uint32
	for tries := 0; len(nodes) < tuneSample && tries < 20*tuneSample; tries++ {
		n := uint32(rng.IntN(len(ix.ids)))
		if ix.ids[n] != "" {
			nodes = append(nodes, n)
		}
	}
	type probe struct {
		q     []float32
		self  uint32
		truth map[uint32]bool
	}
	probes := make([]probe, 0, len(nodes))
	for _, n := range nodes {
		q := ix.g.Vector(n)
		accept := func(m uint32) bool { return m != n && int(m) < len(ix.ids) && ix.ids[m] != "" }
		exact, err := ix.g.Exact(q, tuneK, accept)
		if err != nil || len(exact) == 0 {
			continue
		}
		p := probe{q: q, self: n, truth: map[uint32]bool{}}
		for _, e := range exact {
			p.truth[e.ID] = true
		}
		probes = append(probes, p)
	}
	best := tuning{ef: ix.spec.EfSearch, at: ix.live}
	for _, ef := range efLadder {
		if ef > maxEf {
			break
		}
		hit, total := 0, 0
		for _, p := range probes {
			res, err := ix.g.SearchWithout(p.q, tuneK, ef, p.self, func(m uint32) bool {
				return int(m) < len(ix.ids) && ix.ids[m] != ""
			})
			if err != nil {
				continue
			}
			for _, r := range res {
				if p.truth[r.ID] {
					hit++
				}
			}
			total += len(p.truth)
		}
		best = tuning{ef: ef, recall: float64(hit) / float64(max(total, 1)), at: ix.live}
		if best.recall >= target {
			break
		}
	}
	return best
}
