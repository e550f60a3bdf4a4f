package embed

import (
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	g.POST("", m.handleEmbed, kit.ReadOnly)
	g.GET("/stats", m.handleStats)
}

// EmbedRequest is the body of POST /v1/embed.
type EmbedRequest struct {
	Texts []string `json:"texts"`
	Model string   `json:"model,omitempty"`
	// Purpose is "document" (default) or "query"; it selects the
	// provider's task prefix when one is configured.
	Purpose string `json:"purpose,omitempty"`
}

// EmbedResponse is its answer.
type EmbedResponse struct {
	Model     string      `json:"model"`
	Dimension int         `json:"dimension"`
	Vectors   [][]float32 `json:"vectors"`
}

func (m *Module) handleEmbed(c echo.Context) error {
	var req EmbedRequest
	if err := kit.DecodeJSON(c.Request().Body, &req); err != nil {
		return err
	}
	if len(req.Texts) == 0 {
		return kit.BadRequest("texts: at least one text is required")
	}
	if len(req.Texts) > m.cfg.MaxTexts {
		return kit.TooLarge("texts: %d texts in one request, at most %d (embed.max_texts)", len(req.Texts), m.cfg.MaxTexts).
			WithDetails(map[string]any{"count": len(req.Texts), "max": m.cfg.MaxTexts})
	}
	for i, t := range req.Texts {
		if strings.TrimSpace(t) == "" {
			return kit.BadRequest("texts[%d]: empty text", i).WithDetails(map[string]any{"index": i})
		}
	}
	ctx := c.Request().Context()
	switch req.Purpose {
	case "", "document":
	case "query":
		ctx = WithPurpose(ctx, Query)
	default:
		return kit.BadRequest("purpose: %q is not document or query", req.Purpose)
	}
	emb, err := m.forModel(req.Model)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	vecs, err := emb.EmbedBatch(ctx, req.Texts)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	dim := emb.Dimension()
	if len(vecs) > 0 {
		dim = len(vecs[0])
	}
	return c.JSON(http.StatusOK, EmbedResponse{Model: emb.Model(), Dimension: dim, Vectors: vecs})
}

// StatsResponse is the body of GET /v1/embed/stats.
type StatsResponse struct {
	CacheStats
	Provider  string `json:"provider"`
	Model     string `json:"model"`
	Dimension int    `json:"dimension"`
}

func (m *Module) handleStats(c echo.Context) error {
	return c.JSON(http.StatusOK, StatsResponse{
		CacheStats: m.cache.Stats(), Provider: m.cfg.Provider,
		Model: m.provider.Model(), Dimension: m.provider.Dimension(),
	})
}
