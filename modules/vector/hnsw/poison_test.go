package hnsw

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// A node whose vector makes distances NaN or ±Inf (data stored before
// Check existed, or damaged) never reaches a result and never disturbs
// the ranking of the others, on the graph and the exact path alike.
func TestPoisonNodeNeverRanks(t *testing.T) {
	poisons := map[string][]float32{
		"inf":      {float32(math.Inf(1)), 1, 1, 1},
		"nan":      {float32(math.NaN()), 1, 1, 1},
		"overflow": {3e38, -3e38, 3e38, -3e38},
	}
	for _, m := range []Metric{L2, Dot, Cosine} {
		for name, poison := range poisons {
			rng := rand.New(rand.NewPCG(1, uint64(m)))
			g, err := New(Config{Dim: 4, Metric: m, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 300; i++ {
				v := []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
				if _, err := g.Add(v); err != nil {
					t.Fatal(err)
				}
			}
			const bad = 7
			copy(g.vec(bad), poison) // what an old snapshot could hold
			for qi := 0; qi < 20; qi++ {
				q := []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
				got, err := g.Search(q, 10, 50, nil)
				if err != nil {
					t.Fatal(err)
				}
				exact, err := g.Exact(q, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, res := range [][]Neighbor{got, exact} {
					if len(res) != 10 {
						t.Fatalf("%s %s: %d results", m, name, len(res))
					}
					for i, r := range res {
						// "overflow" may still have a finite distance to q
						// (a dot product of a huge and a small vector).
						if (r.ID == bad && name != "overflow") || math.IsNaN(float64(r.Distance)) || math.IsInf(float64(r.Distance), 0) {
							t.Fatalf("%s %s: result %+v", m, name, r)
						}
						if i > 0 && r.Distance < res[i-1].Distance {
							t.Fatalf("%s %s: results out of order: %v", m, name, res)
						}
					}
				}
			}
		}
	}
}

// Add and the query path refuse exactly what Check refuses, before a node
// id is spent.
func TestAddRefusesWhatCheckRefuses(t *testing.T) {
	for _, c := range []struct {
		m    Metric
		v    []float32
		want string
	}{
		{Cosine, []float32{1e-30, 1e-30, 1e-30}, "underflows"},
		{Cosine, []float32{3e38, 3e38, 0}, "overflows"},
		{Cosine, []float32{0, 0, 0}, "zero vector"},
		{L2, []float32{3e38, 3e38, 0}, "too large"},
		{Dot, []float32{1, float32(math.NaN()), 0}, "not a finite"},
	} {
		g, _ := New(Config{Dim: 3, Metric: c.m})
		if err := Check(c.m, c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%s, %v) = %v", c.m, c.v, err)
		}
		if _, err := g.Add(c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Add(%s, %v) = %v", c.m, c.v, err)
		}
		if g.Len() != 0 {
			t.Errorf("%s %v: a refused vector took a node id", c.m, c.v)
		}
		if _, err := g.Search(c.v, 1, 0, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Search(%s, %v) = %v", c.m, c.v, err)
		}
	}
}

// A graph header that claims more bytes than the file holds is refused
// before the slabs are allocated.
func TestReadRefusesHeaderLargerThanFile(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(codecMagic)
	_ = binary.Write(&b, binary.LittleEndian, uint32(codecVersion))
	h := header{Dim: 1024, M: 16, EfC: 64, EfS: 20, Metric: uint8(L2), N: 1 << 24}
	_ = binary.Write(&b, binary.LittleEndian, &h)
	if _, err := Read(bytes.NewReader(b.Bytes()), int64(b.Len())); err == nil || !strings.Contains(err.Error(), "holds at most") {
		t.Fatalf("oversized header: %v", err)
	}
}
