package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/embed/remote"
)

// No Ollama runs on these machines: these tests stand up an httptest
// server that speaks Ollama's documented /api/embed wire format
// (request {"model","input":[...]}, answer {"model","embeddings":[[...]]},
// errors {"error":"..."} with 404 for a model that is not pulled).

func cfgFor(url string) config.EmbedConfig {
	c := config.Default().Embed
	c.Provider = "ollama"
	c.Ollama.BaseURL = url
	c.Ollama.Dimension = 3
	c.BatchSize = 2
	c.Timeout = config.Duration(2 * time.Second)
	c.RetryBackoff = config.Duration(time.Millisecond)
	return c
}

type fakeOllama struct {
	calls    atomic.Int32
	failures atomic.Int32 // answer 503 this many times first
	inputs   [][]string
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/embed" {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	if req.Model != "nomic-embed-text" {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": `model "` + req.Model + `" not found, try pulling it first`})
		return
	}
	if f.failures.Add(-1) >= 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "server busy"})
		return
	}
	f.inputs = append(f.inputs, req.Input)
	embs := make([][]float32, len(req.Input))
	for i, s := range req.Input {
		embs[i] = []float32{float32(len(s)), 1, 0}
	}
	json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": embs, "total_duration": 1000})
}

func TestOllamaBatchesAndPrefixes(t *testing.T) {
	f := &fakeOllama{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := cfgFor(srv.URL)
	c.Ollama.DocumentPrefix, c.Ollama.QueryPrefix = "search_document: ", "search_query: "
	p := New(c, srv.Client())
	vecs, err := p.EmbedBatch(context.Background(), []string{"a", "bb", "ccc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 3 || vecs[2][0] != float32(len("search_document: ccc")) {
		t.Fatalf("vecs = %v", vecs)
	}
	if len(f.inputs) != 2 || len(f.inputs[0]) != 2 || len(f.inputs[1]) != 1 {
		t.Fatalf("batches = %v, want [2 1]", f.inputs)
	}
	if _, err := p.EmbedBatch(remote.WithPurpose(context.Background(), remote.Query), []string{"q"}); err != nil {
		t.Fatal(err)
	}
	if got := f.inputs[2][0]; got != "search_query: q" {
		t.Fatalf("query input %q", got)
	}
}

func TestOllamaRetriesThen5xxExhausts(t *testing.T) {
	f := &fakeOllama{}
	f.failures.Store(2)
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := New(cfgFor(srv.URL), srv.Client())
	if _, err := p.EmbedBatch(context.Background(), []string{"x"}); err != nil {
		t.Fatalf("two 503s then success should succeed with 3 retries: %v", err)
	}
	if f.calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3", f.calls.Load())
	}
	f.failures.Store(100)
	_, err := p.EmbedBatch(context.Background(), []string{"x"})
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaModelNotPulled(t *testing.T) {
	f := &fakeOllama{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := cfgFor(srv.URL)
	c.Ollama.Model = "llama-embed-9000"
	_, err := New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"})
	if !errors.Is(err, remote.ErrUnknownModel) || !strings.Contains(err.Error(), "ollama pull llama-embed-9000") {
		t.Fatalf("err = %v", err)
	}
	if f.calls.Load() != 1 {
		t.Fatalf("a 404 must not be retried; calls = %d", f.calls.Load())
	}
}

func TestOllamaConnectionRefusedIsRetriedThenUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens here now
	start := time.Now()
	_, err = New(cfgFor(url), nil).EmbedBatch(context.Background(), []string{"x"})
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "4 attempt") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("retries took too long")
	}
}

func TestOllamaTimeoutPerBatch(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c := cfgFor(srv.URL)
	c.Timeout = config.Duration(100 * time.Millisecond)
	start := time.Now()
	_, err := New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"})
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestOllamaWrongDimensionOrCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"model": "nomic-embed-text", "embeddings": [][]float32{{1, 2}}})
	}))
	defer srv.Close()
	p := New(cfgFor(srv.URL), srv.Client())
	if _, err := p.EmbedBatch(context.Background(), []string{"x"}); !errors.Is(err, remote.ErrBadResponse) {
		t.Fatalf("dimension 2 for configured 3: err = %v", err)
	}
	if _, err := p.EmbedBatch(context.Background(), []string{"x", "y"}); !errors.Is(err, remote.ErrBadResponse) {
		t.Fatalf("1 vector for 2 texts: err = %v", err)
	}
	c := cfgFor(srv.URL)
	c.Ollama.Dimension = 0
	p = New(c, srv.Client())
	if _, err := p.EmbedBatch(context.Background(), []string{"x"}); err != nil || p.Dimension() != 2 {
		t.Fatalf("learned dimension %d, err %v", p.Dimension(), err)
	}
}
