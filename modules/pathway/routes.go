package pathway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"lakehouse/internal/jsonx"
	"lakehouse/modules/kit"
)

// Routes mounts the original's pathway routes (API-COMPAT.md) and the
// compaction route beside them.
func (m *Module) Routes(g *echo.Group) {
	limit := kit.BodyLimit(int64(m.cfg.MaxBody))
	p := g.Group("", limit)
	p.POST("/add", m.handleAdd)
	p.POST("/add_idempotent", m.handleAddIdempotent)
	p.POST("/update", m.handleUpdate)
	p.POST("/revise", m.handleRevise)
	p.POST("/retire", m.handleRetire)
	p.POST("/search", m.handleSearch, kit.ReadOnly)
	p.GET("/get/*", m.handleGet)
	p.GET("/history/*", m.handleHistory)
	p.GET("/stats", m.handleStats)
	p.POST("/compact", m.handleCompact)
}

type addBody struct {
	UID            string          `json:"uid"`
	PredecessorUID string          `json:"predecessor_uid"`
	Content        json.RawMessage `json:"content"`
	Tags           []string        `json:"tags"`
	Kind           string          `json:"kind"`
}

func (b *addBody) newTrace() NewTrace {
	return NewTrace{Content: b.Content, Tags: b.Tags, Kind: b.Kind}
}

func (m *Module) handleAdd(c echo.Context) error {
	var b addBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	t, err := m.svc.Add(c.Request().Context(), b.newTrace())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (m *Module) handleAddIdempotent(c echo.Context) error {
	var b addBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	t, replayed, err := m.svc.AddIdempotent(c.Request().Context(), b.UID, b.newTrace())
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("X-Pathway-Replayed", "true")
	}
	return c.JSON(http.StatusOK, t)
}

func (m *Module) handleUpdate(c echo.Context) error {
	var b addBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	t, err := m.svc.Update(c.Request().Context(), b.UID, b.Content, b.Tags)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (m *Module) handleRevise(c echo.Context) error {
	var b addBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	t, err := m.svc.Revise(c.Request().Context(), b.PredecessorUID, b.newTrace())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (m *Module) handleRetire(c echo.Context) error {
	var b addBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	if b.UID == "" {
		return kit.BadRequest("uid is required")
	}
	t, err := m.svc.Retire(c.Request().Context(), b.UID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// searchBody is Query plus the alias "query" for "text".
type searchBody struct {
	Query
	QueryAlias string `json:"query"`
}

// searchResponse lists hits best first and says how they were ranked.
type searchResponse struct {
	Results []Hit  `json:"results"`
	Count   int    `json:"count"`
	Mode    string `json:"mode"`
}

func (m *Module) handleSearch(c echo.Context) error {
	var b searchBody
	if err := m.decodeBody(c, &b); err != nil {
		return err
	}
	if b.Text == "" {
		b.Text = b.QueryAlias
	}
	hits, mode, err := m.svc.SearchMode(c.Request().Context(), b.Query)
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []Hit{}
	}
	return c.JSON(http.StatusOK, searchResponse{Results: hits, Count: len(hits), Mode: mode})
}

func (m *Module) handleGet(c echo.Context) error {
	uid, err := pathUID(c)
	if err != nil {
		return err
	}
	t, err := m.svc.Get(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// historyResponse is the chain newest first; truncated is set when the
// walk stopped at a predecessor that is not stored.
type historyResponse struct {
	UID       string   `json:"uid"`
	Chain     []*Trace `json:"chain"`
	Length    int      `json:"length"`
	Truncated bool     `json:"truncated"`
}

func (m *Module) handleHistory(c echo.Context) error {
	uid, err := pathUID(c)
	if err != nil {
		return err
	}
	chain, err := m.svc.History(c.Request().Context(), uid)
	if err != nil {
		if errors.Is(err, ErrCycle) {
			uids := make([]string, len(chain))
			for i, t := range chain {
				uids[i] = t.UID
			}
			return kit.Conflict("history_cycle", "%v", err).WithDetails(map[string]any{"chain": uids})
		}
		return err
	}
	last := chain[len(chain)-1]
	return c.JSON(http.StatusOK, historyResponse{UID: uid, Chain: chain, Length: len(chain),
		Truncated: last.PredecessorUID != ""})
}

// statsResponse keeps the original's total/active/retired at the top.
type statsResponse struct {
	Stats
	Log      LogStats   `json:"log"`
	Semantic IndexStats `json:"semantic"`
}

func (m *Module) handleStats(c echo.Context) error {
	st, err := m.svc.Stats(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, statsResponse{Stats: st, Log: m.svc.LogStats(), Semantic: m.svc.IndexStats()})
}

func (m *Module) handleCompact(c echo.Context) error {
	res, err := m.svc.Compact(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// pathUID reads the uid after /get/ or /history/. uids chosen by callers
// may contain slashes (the route is a wildcard) and escaped bytes. echo
// hands the wildcard over unescaped or not depending on whether Go kept a
// RawPath, so the uid is cut from the escaped path and unescaped exactly
// once here: "a%2541b" is the uid "a%41b", "job%2F42" is "job/42".
func pathUID(c echo.Context) (string, error) {
	prefix := strings.TrimSuffix(c.Path(), "*")
	escaped := c.Request().URL.EscapedPath()
	if !strings.HasPrefix(escaped, prefix) {
		return "", kit.BadRequest("uid is required in the path")
	}
	raw := escaped[len(prefix):]
	uid, err := url.PathUnescape(raw)
	if err != nil {
		return "", kit.BadRequest("uid %q is not a valid escaped path: %v", raw, err)
	}
	if uid == "" {
		return "", kit.BadRequest("uid is required in the path")
	}
	return uid, nil
}

// decodeBody decodes the request's JSON object into v with the server's
// one decoder (kit.DecodeJSON): 400 malformed_json with the line and
// column, 413 over the cap, and a body nesting deeper than the content
// may (pathway.max_json_depth, plus the body object itself) a 400
// too_deep before anything is decoded.
func (m *Module) decodeBody(c echo.Context, v any) error {
	depth := m.cfg.MaxJSONDepth
	if depth <= 0 {
		depth = jsonx.DefaultMaxDepth
	}
	return kit.DecodeJSON(c.Request().Body, v,
		kit.MaxDepth(depth+1, fmt.Sprintf("pathway.max_json_depth: content may nest at most %d levels", depth)))
}
