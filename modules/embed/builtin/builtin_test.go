package builtin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// reference is testdata/reference.json, written once by
// tools/embed-reference/generate.js with the original JavaScript encoder.
type reference struct {
	Dimension int `json:"dimension"`
	Sentences []struct {
		Text   string    `json:"text"`
		Tokens []int32   `json:"tokens"`
		Vector []float32 `json:"vector"`
	} `json:"sentences"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Sentences) < 40 {
		t.Fatalf("reference has %d sentences", len(ref.Sentences))
	}
	return ref
}

// shared loads the embedded model once for the package's tests.
var shared = New()

func encoder(t testing.TB) *Encoder {
	t.Helper()
	if err := shared.Available(); err != nil {
		t.Fatalf("%v", err)
	}
	return shared
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func TestTokenizerMatchesReference(t *testing.T) {
	enc := encoder(t)
	for _, s := range loadReference(t).Sentences {
		got, err := enc.Tokenize(s.Text)
		if err != nil {
			t.Fatal(err)
		}
		want := s.Tokens
		if len(want) > maxTokens {
			want = want[:maxTokens] // the graph clips; the JS tokenizer does not
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q:\n got %v\nwant %v", s.Text, got, want)
		}
	}
}

func TestVectorsMatchReference(t *testing.T) {
	enc := encoder(t)
	ref := loadReference(t)
	texts := make([]string, len(ref.Sentences))
	for i, s := range ref.Sentences {
		texts[i] = s.Text
	}
	// One batch of all sentences, as the reference was generated.
	vecs, err := enc.EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	worst := 1.0
	for i, s := range ref.Sentences {
		if len(vecs[i]) != ref.Dimension {
			t.Fatalf("dimension %d, want %d", len(vecs[i]), ref.Dimension)
		}
		c := cosine(vecs[i], s.Vector)
		worst = min(worst, c)
		if c < 0.999 {
			t.Errorf("%q: cosine %.6f < 0.999", s.Text, c)
		}
	}
	t.Logf("worst cosine against the JS reference over %d sentences: %.6f", len(texts), worst)

	// Batching must not change a vector: padding never enters attention.
	for _, i := range []int{0, 10, len(texts) - 1} {
		one, err := enc.EmbedBatch(context.Background(), texts[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if c := cosine(one[0], vecs[i]); c < 0.99999 {
			t.Errorf("%q alone vs in batch: cosine %.7f", texts[i], c)
		}
	}
}

func TestMeaning(t *testing.T) {
	enc := encoder(t)
	v, err := enc.EmbedBatch(context.Background(), []string{
		"forklift operator", "warehouse equipment driver", "registered nurse",
	})
	if err != nil {
		t.Fatal(err)
	}
	near, far := cosine(v[0], v[1]), cosine(v[0], v[2])
	if near <= far {
		t.Fatalf("forklift~warehouse driver %.3f should beat forklift~nurse %.3f", near, far)
	}
	for _, x := range v {
		var n float64
		for _, f := range x {
			n += float64(f) * float64(f)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("vector norm² %.6f, want 1", n)
		}
	}
}

func TestEdgeTexts(t *testing.T) {
	enc := encoder(t)
	long := ""
	for i := 0; i < 400; i++ {
		long += "pallet "
	}
	texts := []string{"", "\x00\xff invalid utf8 \xc3", "🚀🚀🚀", long}
	vecs, err := enc.EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		for _, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				t.Fatalf("text %d: non-finite value", i)
			}
		}
	}
	ids, _ := enc.Tokenize(long)
	if len(ids) != maxTokens {
		t.Fatalf("long text: %d tokens, want %d", len(ids), maxTokens)
	}
	// A multi-megabyte text is cut before segmentation: same first 128
	// tokens, bounded memory.
	huge := strings.Repeat("pallet ", 600_000)
	hugeIDs, _ := enc.Tokenize(huge)
	if !slices.Equal(hugeIDs, ids) {
		t.Fatalf("huge text tokens differ from the long text's")
	}
}

func TestMissingModelIsAClearError(t *testing.T) {
	e := &Encoder{load: func() ([]byte, error) { return nil, ErrModelMissing }}
	if _, err := e.EmbedBatch(context.Background(), []string{"x"}); !errors.Is(err, ErrModelMissing) {
		t.Fatalf("err = %v", err)
	}
	bad := NewFromBytes([]byte("not a model"))
	if err := bad.Available(); err == nil {
		t.Fatal("garbage model accepted")
	}
}

func TestHalfRoundTrip(t *testing.T) {
	for _, f := range []float32{0, 1, -2.5, 65504, 1e-7, 6.1e-5, 0.1, -0.333} {
		got := halfToFloat32(float32ToHalf(f))
		if d := math.Abs(float64(got - f)); d > math.Abs(float64(f))*1e-3+6e-8 {
			t.Errorf("%g → %g", f, got)
		}
	}
	if !math.IsInf(float64(halfToFloat32(float32ToHalf(1e6))), 1) {
		t.Error("overflow should be +Inf")
	}
}

func TestPresentDoesNotDecode(t *testing.T) {
	e := New()
	if err := e.Present(); err != nil {
		t.Fatalf("embedded model missing: %v", err)
	}
	if e.m != nil {
		t.Fatal("Present decoded the model")
	}
	missing := &Encoder{load: func() ([]byte, error) { return nil, ErrModelMissing }, present: func() error { return ErrModelMissing }}
	if !errors.Is(missing.Present(), ErrModelMissing) {
		t.Fatal("missing model not reported")
	}
}

func TestConvertRejectsIncompletePackages(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte(`[["x", 0]]`)
	tw.WriteHeader(&tar.Header{Name: "package/dist/vocab.json", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	gz.Close()
	err := Convert(&buf, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "model.json missing") {
		t.Fatalf("err = %v", err)
	}
	if err := Convert(strings.NewReader("not gzip"), io.Discard); err == nil {
		t.Fatal("garbage tarball accepted")
	}
}

func TestCancelledContextStopsEmbedding(t *testing.T) {
	enc := encoder(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.EmbedBatch(ctx, []string{"a", "b"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrentEmbedsAgree(t *testing.T) {
	enc := encoder(t)
	want, err := enc.EmbedBatch(context.Background(), []string{"forklift operator"})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 6)
	for g := 0; g < 6; g++ {
		go func() {
			v, err := enc.EmbedBatch(context.Background(), []string{"registered nurse", "forklift operator"})
			if err == nil && cosine(v[1], want[0]) < 0.99999 {
				err = errors.New("concurrent result differs")
			}
			errs <- err
		}()
	}
	for g := 0; g < 6; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoKernelsMatchReference forces the portable Go kernels (what a CPU
// without AVX2 or FMA runs) and checks them against the JS reference and
// against the assembly path.
func TestGoKernelsMatchReference(t *testing.T) {
	b, err := embeddedModel()
	if err != nil {
		t.Fatal(err)
	}
	goEnc := NewFromBytes(b)
	goEnc.noAsm = true
	if m, err := goEnc.model(); err != nil || m.kernelName() != "Go" {
		t.Fatalf("Go kernels not forced: %v", err)
	}
	ref := loadReference(t)
	texts := make([]string, len(ref.Sentences))
	for i, s := range ref.Sentences {
		texts[i] = s.Text
	}
	got, err := goEnc.EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := encoder(t).EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ref.Sentences {
		if c := cosine(got[i], s.Vector); c < 0.999 {
			t.Errorf("%q: Go kernels' cosine to the reference %.6f < 0.999", s.Text, c)
		}
		if c := cosine(got[i], fast[i]); c < 0.99999 {
			t.Errorf("%q: Go vs %s kernels: cosine %.7f", s.Text, encoderKernels(t), c)
		}
	}
}

func encoderKernels(t *testing.T) string {
	m, err := encoder(t).model()
	if err != nil {
		t.Fatal(err)
	}
	return m.kernelName()
}

// TestDeterministicAcrossBatching: a text's vector is bit-identical
// whatever batch, pass split or worker it lands in.
func TestDeterministicAcrossBatching(t *testing.T) {
	enc := encoder(t)
	ref := loadReference(t)
	texts := make([]string, 0, 3*len(ref.Sentences))
	for range 3 {
		for _, s := range ref.Sentences {
			texts = append(texts, s.Text)
		}
	}
	all, err := enc.EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref.Sentences {
		one, err := enc.EmbedBatch(context.Background(), texts[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range [][]float32{all[i], all[i+len(ref.Sentences)], all[i+2*len(ref.Sentences)]} {
			if !slices.Equal(v, one[0]) {
				t.Fatalf("%q: vector differs between batches", texts[i])
			}
		}
	}
}

func TestPlanPasses(t *testing.T) {
	mk := func(lens ...int) [][]int32 {
		out := make([][]int32, len(lens))
		for i, n := range lens {
			out[i] = make([]int32, n)
		}
		return out
	}
	for _, c := range []struct {
		lens    []int
		workers int
		want    []int
	}{
		{nil, 2, []int{0}},
		{[]int{13}, 2, []int{0, 1}},
		{[]int{10, 10, 10, 10}, 2, []int{0, 2, 4}},
		{[]int{0, 0, 5}, 2, []int{0, 3}}, // empty texts never make a pass of their own
		// 17 texts of 1/16 of a pass on one worker: two passes, the first
		// cut once it holds its half.
		{slices.Repeat([]int{maxBatchTokens / 16}, 17), 1, []int{0, 9, 17}},
	} {
		ids := mk(c.lens...)
		total := 0
		for _, t := range ids {
			total += len(t)
		}
		got := planPasses(ids, total, c.workers)
		if !slices.Equal(got, c.want) {
			t.Errorf("%v on %d workers: %v, want %v", c.lens, c.workers, got, c.want)
		}
		for i := 0; i+1 < len(got); i++ {
			rows := 0
			for _, t := range ids[got[i]:got[i+1]] {
				rows += len(t)
			}
			if rows > maxBatchTokens {
				t.Errorf("%v: pass %d has %d tokens", c.lens, i, rows)
			}
		}
	}
}
