package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"lakehouse/modules/embed/builtin"
	"lakehouse/modules/embed/remote"
	"lakehouse/modules/kit"
)

// Errors a provider's EmbedBatch may wrap; match with errors.Is. Routes
// answer all of them with 502 Bad Gateway.
var (
	ErrUnavailable  = remote.ErrUnavailable
	ErrUnknownModel = remote.ErrUnknownModel
	ErrBadResponse  = remote.ErrBadResponse
	// ErrModelMissing: the binary was built without the builtin model.
	ErrModelMissing = builtin.ErrModelMissing
)

// Purpose says whether texts are documents (default) or search queries;
// providers configured with task prefixes (nomic) apply them.
type Purpose = remote.Purpose

// The purposes.
const (
	Document = remote.Document
	Query    = remote.Query
)

// WithPurpose marks the embed calls made with ctx (e.g. a search embeds
// its query text with WithPurpose(ctx, embed.Query)).
func WithPurpose(ctx context.Context, p Purpose) context.Context { return remote.WithPurpose(ctx, p) }

// ErrNoEmbedder: a route needs an embedder (text without vectors, an index
// built from a dataset) and none is running in this process. The same 503
// wherever it happens.
var ErrNoEmbedder = kit.NewKind(http.StatusServiceUnavailable, "no_embedder", "no embedder is configured")

// classify makes every error out of a provider carry its answer: one that
// names no kind of failure is the provider being unavailable. A cancelled
// request stays as it is.
func classify(err error) error {
	var se kit.StatusError
	if err == nil || errors.Is(err, context.Canceled) || errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
