package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/embed/remote"
)

// These tests stand up an httptest server that speaks the OpenAI
// embeddings API's documented wire format: POST /v1/embeddings with
// "Authorization: Bearer KEY" and {"model","input":[...],
// "encoding_format":"float"}, answered by {"object":"list","data":
// [{"object":"embedding","index":i,"embedding":[...]}],"model","usage"},
// and errors {"error":{"message","type","param","code"}}.

type fakeOpenAI struct {
	calls  atomic.Int32
	fail   atomic.Int32 // answer 429 / 500 this many times first
	inputs [][]string
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": code}})
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	if r.URL.Path != "/v1/embeddings" {
		writeErr(w, 404, "not_found", "unknown path")
		return
	}
	if r.Header.Get("Authorization") != "Bearer sk-test" {
		writeErr(w, 401, "invalid_api_key", "Incorrect API key provided")
		return
	}
	var req struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		EncodingFormat string   `json:"encoding_format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.EncodingFormat != "float" {
		writeErr(w, 400, "bad_request", "bad body")
		return
	}
	if req.Model != "text-embedding-3-small" {
		writeErr(w, 404, "model_not_found", "The model `"+req.Model+"` does not exist")
		return
	}
	if f.fail.Add(-1) >= 0 {
		if n%2 == 1 {
			w.Header().Set("Retry-After", "0")
			writeErr(w, 429, "rate_limit_exceeded", "slow down")
		} else {
			writeErr(w, 500, "server_error", "oops")
		}
		return
	}
	f.inputs = append(f.inputs, req.Input)
	data := []map[string]any{}
	// Answer in reverse order: clients must use "index".
	for i := len(req.Input) - 1; i >= 0; i-- {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": []float32{float32(len(req.Input[i])), 0.5}})
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": 3, "total_tokens": 3}})
}

func cfgFor(url string) config.EmbedConfig {
	c := config.Default().Embed
	c.Provider = "openai"
	c.OpenAI.BaseURL = url + "/v1"
	c.OpenAI.APIKeyEnv = "LAKEHOUSE_TEST_OPENAI_KEY"
	c.BatchSize = 3
	c.Timeout = config.Duration(2 * time.Second)
	c.RetryBackoff = config.Duration(time.Millisecond)
	return c
}

func TestOpenAIKeyFromEnvOrderAndBatches(t *testing.T) {
	t.Setenv("LAKEHOUSE_TEST_OPENAI_KEY", "sk-test")
	f := &fakeOpenAI{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := New(cfgFor(srv.URL), srv.Client())
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee"}
	vecs, err := p.EmbedBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if v[0] != float32(len(texts[i])) {
			t.Fatalf("vector %d = %v: order lost", i, v)
		}
	}
	if len(f.inputs) != 2 || p.Dimension() != 2 {
		t.Fatalf("batches %v, dimension %d", f.inputs, p.Dimension())
	}
}

func TestOpenAIBadKeyAndUnknownModel(t *testing.T) {
	f := &fakeOpenAI{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := cfgFor(srv.URL)
	c.OpenAI.APIKey = "sk-wrong"
	_, err := New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "rejected the API key") || strings.Contains(err.Error(), "sk-wrong") {
		t.Fatalf("err = %v", err)
	}
	c.OpenAI.APIKey = "sk-test"
	c.OpenAI.Model = "no-such-model"
	_, err = New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"})
	if !errors.Is(err, remote.ErrUnknownModel) {
		t.Fatalf("err = %v", err)
	}
	if f.calls.Load() != 2 {
		t.Fatalf("4xx must not be retried: calls = %d", f.calls.Load())
	}
}

func TestOpenAIRetries429And500(t *testing.T) {
	f := &fakeOpenAI{}
	f.fail.Store(3)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := cfgFor(srv.URL)
	c.OpenAI.APIKey = "sk-test"
	if _, err := New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"}); err != nil {
		t.Fatalf("429, 500, 429 then success: %v", err)
	}
	if f.calls.Load() != 4 {
		t.Fatalf("calls = %d, want 4", f.calls.Load())
	}
	f.fail.Store(100)
	c.Retries = 1
	_, err := New(c, srv.Client()).EmbedBatch(context.Background(), []string{"x"})
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}
