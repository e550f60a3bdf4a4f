package hnsw

import (
	"bytes"
	"math"
	"os"
	"testing"
	"time"

	"lakehouse/internal/racetest"
)

func TestInt8KernelMatchesDequantized(t *testing.T) {
	base, _ := clustered(3, 50, 1, 37) // 37: padding codes in the last word
	for _, m := range []Metric{Cosine, Dot, L2} {
		dim := 37
		rows := make([][]float32, len(base))
		for i, v := range base {
			v = append([]float32(nil), v...)
			if m == Cosine {
				Normalize(v)
			}
			rows[i] = make([]float32, rowWords(dim, Int8))
			quantize(rows[i], v)
		}
		kd, fd := int8DistanceFunc(m, dim), distanceFunc(m)
		for i := 1; i < len(rows); i++ {
			want := fd(dequantize(rows[0], dim), dequantize(rows[i], dim))
			got := kd(rows[0], rows[i])
			if math.Abs(float64(got-want)) > 1e-3*max(1, math.Abs(float64(want))) {
				t.Fatalf("%s: int8 kernel %g, dequantized float %g", m, got, want)
			}
		}
	}
}

func TestInt8SearchRecallAndCodec(t *testing.T) {
	// Six single-inserter builds for recall numbers: 11 s under -race, under 1 s without.
	racetest.CPUBound(t)
	const dim, k = 64, 10
	base, queries := clustered(21, 3000, 50, dim)
	for _, m := range []Metric{Cosine, L2, Dot} {
		truth := groundTruth(m, base, queries, k)
		for _, rescore := range []bool{false, true} {
			g := build(t, Config{Dim: dim, Metric: m, Seed: 4, Quantization: Int8, Rescore: rescore}, base, 1)
			got := make([][]Neighbor, len(queries))
			for i, q := range queries {
				got[i], _ = g.Search(q, k, 0, nil)
			}
			r := recallAt(got, truth)
			t.Logf("%s int8 rescore=%v recall@10 %.3f", m, rescore, r)
			if r < 0.85 {
				t.Fatalf("%s int8 rescore=%v: recall@10 %.3f", m, rescore, r)
			}
			// Its own vector is the top hit.
			for _, i := range []int{0, 17, 2999} {
				res, _ := g.Search(base[i], 1, 0, nil)
				if m != Dot && (len(res) != 1 || res[0].ID != uint32(i)) {
					t.Fatalf("%s rescore=%v: top-1 of item %d is %v", m, rescore, i, res)
				}
			}
			var buf bytes.Buffer
			if _, err := g.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			g2, err := Read(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if g2.Config() != g.Config() {
				t.Fatalf("config after reload %+v, want %+v", g2.Config(), g.Config())
			}
			for _, q := range queries[:10] {
				a, _ := g.Search(q, k, 0, nil)
				b, _ := g2.Search(q, k, 0, nil)
				if len(a) != len(b) || (len(a) > 0 && a[0] != b[0]) {
					t.Fatalf("results differ after reload: %v vs %v", a, b)
				}
			}
			for _, n := range []int{10, len(raw) / 2, len(raw) - 1} {
				if _, err := Read(bytes.NewReader(raw[:n]), int64(n)); err == nil {
					t.Fatalf("truncated snapshot (%d bytes) accepted", n)
				}
			}
		}
	}
}

func TestInt8MemoryRatio(t *testing.T) {
	base, _ := clustered(5, 1000, 1, 384)
	f := build(t, Config{Dim: 384, Seed: 1}, base, 1)
	q := build(t, Config{Dim: 384, Seed: 1, Quantization: Int8}, base, 1)
	ratio := float64(q.VectorBytes()) / float64(f.VectorBytes())
	if ratio > 0.3 {
		t.Fatalf("int8 vector memory is %.3f× float32", ratio)
	}
}

// TestInt8Measure prints int8 against float32 at 20k×384 (cosine):
// LAKEHOUSE_INT8_MEASURE=1 go test -tags duckdb_arrow ./modules/vector/hnsw -run Int8Measure -v
func TestInt8Measure(t *testing.T) {
	if os.Getenv("LAKEHOUSE_INT8_MEASURE") == "" {
		t.Skip("set LAKEHOUSE_INT8_MEASURE=1")
	}
	const n, nq, dim, k = 20000, 500, 384, 10
	base, queries := clustered(77, n, nq, dim)
	var fbytes int64
	for _, c := range []Config{
		{Dim: dim, Seed: 2},
		{Dim: dim, Seed: 2, Quantization: Int8},
		{Dim: dim, Seed: 2, Quantization: Int8, Rescore: true},
	} {
		b := append([][]float32(nil), base...)
		start := time.Now()
		g := build(t, c, b, 2)
		buildT := time.Since(start)
		tr := groundTruth(Cosine, b, queries, k) // build permuted b into node order
		if fbytes == 0 {
			fbytes = g.VectorBytes()
		}
		for _, ef := range []int{20, 40, 80} {
			got := make([][]Neighbor, nq)
			start := time.Now()
			for i, q := range queries {
				got[i], _ = g.Search(q, k, ef, nil)
			}
			el := time.Since(start)
			t.Logf("%-7s rescore=%-5v ef=%-3d recall@10 %.4f  QPS %6.0f  vector memory %.3f×  build %v",
				c.Quantization, c.Rescore, ef, recallAt(got, tr), float64(nq)/el.Seconds(),
				float64(g.VectorBytes())/float64(fbytes), buildT.Round(time.Millisecond))
		}
	}
}

func TestDotInt8MatchesLoop(t *testing.T) {
	for _, words := range []int{1, 7, 8, 9, 24, 96, 97} {
		a, b := make([]float32, words), make([]float32, words)
		x, y := codes(a, words*4), codes(b, words*4)
		for i := range x {
			x[i], y[i] = int8(i*37%255-127), int8(127-i*53%255)
		}
		x[0], y[0] = -128+1, -127
		var want int32
		for i := range x {
			want += int32(x[i]) * int32(y[i])
		}
		if got := dotInt8(a, b, words); got != want {
			t.Fatalf("%d words: dotInt8 %d, want %d", words, got, want)
		}
	}
}
