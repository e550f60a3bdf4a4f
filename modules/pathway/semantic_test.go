package pathway

import (
	"context"
	"errors"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/vector"
)

// conceptEmbedder maps words to concept axes, so "pallet mover" and
// "forklift driver" are close without sharing a word.
type conceptEmbedder struct {
	model string
	mu    sync.Mutex
	fail  bool
	// failIf fails any batch with a text containing it.
	failIf string
	calls  int
}

var concepts = map[string]int{
	"forklift": 0, "pallet": 0, "warehouse": 0, "loader": 0, "mover": 0,
	"electrician": 1, "wiring": 1, "voltage": 1,
	"dental": 2, "hygienist": 2, "teeth": 2,
	"cnc": 3, "machinist": 3, "lathe": 3,
}

func (e *conceptEmbedder) Model() string  { return e.model }
func (e *conceptEmbedder) Dimension() int { return 5 }
func (e *conceptEmbedder) EmbedBatch(_ context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.fail {
		return nil, errors.New("embedder down")
	}
	for _, t := range texts {
		if e.failIf != "" && strings.Contains(t, e.failIf) {
			return nil, errors.New("embedder refuses this text")
		}
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 5)
		v[4] = 0.05 // never the zero vector
		for _, w := range tokenize(t) {
			if c, ok := concepts[w]; ok {
				v[c]++
			}
		}
		out[i] = v
	}
	return out, nil
}

func (e *conceptEmbedder) setFail(f bool) { e.mu.Lock(); e.fail = f; e.mu.Unlock() }

// memVector is a brute-force vector.Service.
type memVector struct {
	mu      sync.Mutex
	specs   map[string]vector.IndexSpec
	items   map[string]map[string][]float32
	creates int
}

func newMemVector() *memVector {
	return &memVector{specs: map[string]vector.IndexSpec{}, items: map[string]map[string][]float32{}}
}

func (m *memVector) Create(_ context.Context, s vector.IndexSpec) (vector.IndexInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.specs[s.Name]; ok {
		return vector.IndexInfo{}, vector.ErrIndexExists
	}
	m.specs[s.Name], m.items[s.Name] = s, map[string][]float32{}
	m.creates++
	return vector.IndexInfo{IndexSpec: s}, nil
}

func (m *memVector) Info(_ context.Context, name string) (vector.IndexInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.specs[name]
	if !ok {
		return vector.IndexInfo{}, vector.ErrIndexNotFound
	}
	return vector.IndexInfo{IndexSpec: s, Length: len(m.items[name])}, nil
}

func (m *memVector) List(context.Context) ([]vector.IndexInfo, error) { return nil, nil }

func (m *memVector) Drop(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.specs, name)
	delete(m.items, name)
	return nil
}

func (m *memVector) Add(_ context.Context, name string, items []vector.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx, ok := m.items[name]
	if !ok {
		return vector.ErrIndexNotFound
	}
	for _, it := range items {
		if len(it.Vector) != m.specs[name].Dim {
			return vector.ErrInvalid
		}
		idx[it.ID] = it.Vector
	}
	return nil
}

func (m *memVector) Delete(_ context.Context, name string, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.items[name], id)
	}
	return nil
}

func (m *memVector) Search(_ context.Context, name string, req vector.SearchRequest) ([]vector.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []vector.Result
	for id, v := range m.items[name] {
		d := float32(1 - cosine(v, req.Vector))
		out = append(out, vector.Result{ID: id, Distance: d, Score: 1 - d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Distance < out[j].Distance })
	return out[:min(len(out), req.K)], nil
}

func (m *memVector) length(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items[name])
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i] * b[i])
		na += float64(a[i] * a[i])
		nb += float64(b[i] * b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func syncIndex(t *testing.T, s *Service) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.SyncIndex(c); err != nil {
		t.Fatal(err)
	}
}

func TestSemantic_RanksByMeaning(t *testing.T) {
	s := openTest(t)
	emb, vec := &conceptEmbedder{model: "concept-v1"}, newMemVector()
	if err := s.EnableSemantic(ctx, emb, vec, "_pathway"); err != nil {
		t.Fatal(err)
	}
	forklift := mustAdd(t, s, `{"role":"forklift driver","city":"Joliet"}`)
	elec := mustAdd(t, s, `{"role":"electrician","notes":"industrial wiring"}`)
	mustAdd(t, s, `"dental hygienist"`)
	syncIndex(t, s)
	if n := vec.length("_pathway"); n != 3 {
		t.Fatalf("index holds %d vectors, want 3", n)
	}
	hits, mode, err := s.SearchMode(ctx, Query{Text: "pallet loader", Limit: 2})
	if err != nil || mode != ModeSemantic {
		t.Fatalf("%v %s", err, mode)
	}
	if len(hits) != 2 || hits[0].UID != forklift.UID || hits[0].Score < 0.9 {
		t.Fatalf("semantic ranking %v (%v)", hitUIDs(hits), hits)
	}
	// Retired traces leave the index and never appear.
	s.Retire(ctx, forklift.UID)
	syncIndex(t, s)
	hits, _, _ = s.SearchMode(ctx, Query{Text: "pallet loader", Limit: 5})
	for _, h := range hits {
		if h.UID == forklift.UID {
			t.Fatal("retired trace returned by semantic search")
		}
	}
	if n := vec.length("_pathway"); n != 2 {
		t.Fatalf("index holds %d vectors after retire, want 2", n)
	}
	// Updates are re-embedded.
	s.Update(ctx, elec.UID, raw(`{"role":"CNC machinist"}`), nil)
	syncIndex(t, s)
	hits, _, _ = s.SearchMode(ctx, Query{Text: "lathe", Limit: 1})
	if len(hits) != 1 || hits[0].UID != elec.UID {
		t.Fatalf("after update: %v", hitUIDs(hits))
	}
	// Filters still apply to semantic hits.
	hits, _, _ = s.SearchMode(ctx, Query{Text: "lathe", Kind: "other"})
	if len(hits) != 0 {
		t.Fatalf("kind filter ignored: %v", hitUIDs(hits))
	}
	if st := s.IndexStats(); !st.Enabled || st.Model != "concept-v1" || st.Indexed < 4 {
		t.Fatalf("index stats %+v", st)
	}
}

func TestSemantic_NotYetIndexedFoundByLexicalFill(t *testing.T) {
	s := openTest(t)
	// The worker cannot embed the trace, so it never reaches the index;
	// the query itself embeds fine: the lexical fill finds the trace.
	emb, vec := &conceptEmbedder{model: "m", failIf: "unique"}, newMemVector()
	s.EnableSemantic(ctx, emb, vec, "_pathway")
	tr := mustAdd(t, s, `"unique zebra token"`)
	hits, mode, err := s.SearchMode(ctx, Query{Text: "zebra"})
	if err != nil || mode != ModeSemantic || len(hits) != 1 || hits[0].UID != tr.UID {
		t.Fatalf("fill: %v %s %v", err, mode, hitUIDs(hits))
	}
}

func TestSemantic_EmbedderDownFallsBackToLexical(t *testing.T) {
	s := openTest(t)
	emb, vec := &conceptEmbedder{model: "m"}, newMemVector()
	s.EnableSemantic(ctx, emb, vec, "_pathway")
	tr := mustAdd(t, s, `"forklift"`)
	syncIndex(t, s)
	emb.setFail(true)
	hits, mode, err := s.SearchMode(ctx, Query{Text: "forklift"})
	if err != nil || mode != ModeLexical || len(hits) != 1 || hits[0].UID != tr.UID {
		t.Fatalf("fallback: %v %s %v", err, mode, hitUIDs(hits))
	}
}

func TestSemantic_ReindexOnStartAndModelChange(t *testing.T) {
	s := openTest(t)
	for _, c := range []string{`"forklift"`, `"wiring"`, `"teeth"`} {
		mustAdd(t, s, c)
	}
	r := mustAdd(t, s, `"lathe"`)
	s.Retire(ctx, r.UID)
	vec := newMemVector()
	// Traces stored before semantic search was on get embedded.
	if err := s.EnableSemantic(ctx, &conceptEmbedder{model: "v1"}, vec, "_pathway"); err != nil {
		t.Fatal(err)
	}
	syncIndex(t, s)
	if n := vec.length("_pathway"); n != 3 {
		t.Fatalf("backfill indexed %d, want 3 active", n)
	}
	// Same model, index in sync: nothing is re-created.
	s = reopen(t, s)
	if err := s.EnableSemantic(ctx, &conceptEmbedder{model: "v1"}, vec, "_pathway"); err != nil {
		t.Fatal(err)
	}
	syncIndex(t, s)
	if vec.creates != 1 {
		t.Fatalf("index re-created %d times without a model change", vec.creates)
	}
	// A new model means a new index, rebuilt from the log.
	if err := s.EnableSemantic(ctx, &conceptEmbedder{model: "v2"}, vec, "_pathway"); err != nil {
		t.Fatal(err)
	}
	syncIndex(t, s)
	if info, _ := vec.Info(ctx, "_pathway"); info.Model != "v2" || info.Length != 3 || vec.creates != 2 {
		t.Fatalf("after model change: %+v creates=%d", info, vec.creates)
	}
	if !strings.Contains(s.IndexStats().Model, "v2") {
		t.Fatal("stats model")
	}
}

// blockingEmbedder never answers until its context ends.
type blockingEmbedder struct{ conceptEmbedder }

func (e *blockingEmbedder) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 1 && texts[0] == "query" {
		return e.conceptEmbedder.EmbedBatch(ctx, texts)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestSemantic_CloseDoesNotWaitForSlowEmbedder: shutdown cancels an
// embedding call in flight instead of waiting out its 60 s timeout.
func TestSemantic_CloseDoesNotWaitForSlowEmbedder(t *testing.T) {
	s := openTest(t)
	emb := &blockingEmbedder{conceptEmbedder{model: "slow"}}
	if err := s.EnableSemantic(ctx, emb, newMemVector(), "_pathway"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, `"waiting forever"`)
	time.Sleep(20 * time.Millisecond) // let the worker pick it up
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the embedder")
	}
}
