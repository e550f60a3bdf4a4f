package embed

import (
	"context"
	"errors"
	"net/http"

	"lakehouse/app"
	"lakehouse/modules/embed/builtin"
	"lakehouse/modules/embed/remote"
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

// APIError maps an embedding error to the HTTP answer: provider down,
// unknown model or a bad provider answer → 502; a cancelled request is
// passed through.
func APIError(err error) error {
	var code string
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, ErrUnknownModel):
		code = "unknown_model"
	case errors.Is(err, ErrModelMissing):
		code = "embed_model_missing"
	case errors.Is(err, ErrBadResponse):
		code = "embed_bad_response"
	default:
		code = "embed_unavailable"
	}
	return app.Errorf(http.StatusBadGateway, code, "embed: %v", err)
}
