// Package remote is what the HTTP embedding providers (ollama, openai)
// share: batching, a timeout per batch, retries with exponential backoff
// on 5xx, 429 and connection errors, the purpose (document or query) of a
// call, and the errors the embed module maps to HTTP statuses.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"lakehouse/modules/kit"
	"net/http"
	"strconv"
	"time"
)

// Errors of an embedding provider: each is a 502 Bad Gateway with its own
// code, on every route that embeds (/v1/embed, vector add and search, the
// indexer).
var (
	// ErrUnavailable: the provider could not be reached or kept failing.
	ErrUnavailable = kit.NewKind(http.StatusBadGateway, "embed_unavailable", "embedding provider unavailable")
	// ErrUnknownModel: the provider does not have the model (not pulled).
	ErrUnknownModel = kit.NewKind(http.StatusBadGateway, "unknown_model", "embedding model unknown to the provider")
	// ErrBadResponse: the provider answered something that is not a valid
	// embedding response (wrong count, dimension, JSON).
	ErrBadResponse = kit.NewKind(http.StatusBadGateway, "embed_bad_response", "invalid answer from the embedding provider")
)

// Purpose tells a provider what texts are for, so it can apply a model's
// task prefixes (nomic: "search_document: " / "search_query: ").
type Purpose int

const (
	// Document is the default: texts to be indexed.
	Document Purpose = iota
	// Query: texts to search with.
	Query
)

type purposeKey struct{}

// WithPurpose marks the embed calls made with ctx.
func WithPurpose(ctx context.Context, p Purpose) context.Context {
	return context.WithValue(ctx, purposeKey{}, p)
}

// PurposeOf returns the purpose ctx carries (Document when none).
func PurposeOf(ctx context.Context) Purpose {
	p, _ := ctx.Value(purposeKey{}).(Purpose)
	return p
}

// Prefix returns texts with the prefix for ctx's purpose prepended.
func Prefix(ctx context.Context, texts []string, doc, query string) []string {
	pre := doc
	if PurposeOf(ctx) == Query {
		pre = query
	}
	if pre == "" {
		return texts
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = pre + t
	}
	return out
}

// StatusError is a non-2xx answer that was not retried (or ran out of
// retries); Body is the start of the answer for the message.
type StatusError struct {
	Status int
	Body   string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// Client posts JSON with a timeout per attempt-set and retries.
type Client struct {
	HTTP    *http.Client
	Timeout time.Duration // per batch, retries included
	Retries int
	Backoff time.Duration
}

// PostJSON sends body to url and decodes a 2xx answer into out. 5xx, 429
// and transport errors are retried (Retry-After honoured when shorter than
// the remaining time); other statuses return a *StatusError at once.
func (c *Client) PostJSON(ctx context.Context, url string, header http.Header, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	var last error
	for attempt := 0; ; attempt++ {
		wait, err := c.try(ctx, hc, url, header, payload, out)
		if err == nil {
			return nil
		}
		last = err
		if wait < 0 { // 4xx, or an answer that is not an embedding response
			return err
		}
		if attempt >= c.Retries || ctx.Err() != nil {
			break
		}
		d := c.Backoff << attempt
		if wait > 0 {
			d = wait
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("%w: %s after %d attempt(s): %w", ErrUnavailable, url, c.Retries+1, last)
}

// try makes one attempt. wait < 0 means "do not retry"; wait > 0 is the
// server's Retry-After.
func (c *Client) try(ctx context.Context, hc *http.Client, url string, header http.Header, payload []byte, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err // connection refused, reset, timeout: retry
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(out); err != nil {
			return -1, fmt.Errorf("%w: decode: %w", ErrBadResponse, err)
		}
		return 0, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	se := &StatusError{Status: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		var wait time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, se
	}
	return -1, se
}

// Batches calls fn on consecutive slices of at most size texts and
// concatenates the vectors, checking count and dimension (dim 0 = learn
// from the first vector; the learned value is returned).
func Batches(ctx context.Context, texts []string, size, dim int, fn func(context.Context, []string) ([][]float32, error)) ([][]float32, int, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		vecs, err := fn(ctx, texts[start:end])
		if err != nil {
			return nil, dim, err
		}
		if len(vecs) != end-start {
			return nil, dim, fmt.Errorf("%w: %d vectors for %d texts", ErrBadResponse, len(vecs), end-start)
		}
		for _, v := range vecs {
			if dim == 0 {
				dim = len(v)
			}
			if len(v) != dim || dim == 0 {
				return nil, dim, fmt.Errorf("%w: vector of dimension %d, want %d", ErrBadResponse, len(v), dim)
			}
		}
		out = append(out, vecs...)
	}
	return out, dim, nil
}
