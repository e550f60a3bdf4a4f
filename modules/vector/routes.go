package vector

import (
	"fmt"
	"lakehouse/modules/kit"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	g.POST("/index", m.create)
	g.GET("/index", m.list)
	g.GET("/index/:name", m.info, m.granted)
	g.DELETE("/index/:name", m.drop, m.granted)
	g.POST("/index/:name/add", m.add, m.granted, kit.BodyLimit(m.maxBatch))
	g.POST("/index/:name/search", m.search, m.granted, kit.ReadOnly)
	g.DELETE("/index/:name/items/:id", m.deleteItem, m.granted)
}

// createRequest accepts both the API-COMPAT names (dimension, distance)
// and the (dim, metric).
type createRequest struct {
	Name           string  `json:"name"`
	Dimension      *int    `json:"dimension"`
	Dim            *int    `json:"dim"`
	Distance       string  `json:"distance"`
	Metric         string  `json:"metric"`
	M              int     `json:"m"`
	EfConstruction int     `json:"ef_construction"`
	EfSearch       int     `json:"ef_search"`
	TargetRecall   float64 `json:"target_recall"`
	Model          string  `json:"model"`
	// Quantization is float32 (default) or int8; Rescore ("none",
	// "memory", "disk") applies to int8 (see IndexSpec).
	Quantization string `json:"quantization"`
	Rescore      string `json:"rescore"`
}

// decode reads a JSON route's body with the shared reader: one object,
// errors with line and column, the route's cap as a 413, unknown fields
// allowed (older and newer clients send more than a route reads).
func decode(c echo.Context, v any) error { return kit.DecodeJSON(c.Request().Body, v) }

func (m *Module) create(c echo.Context) error {
	var req createRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return kit.BadRequest("missing field \"name\"").WithDetails(map[string]any{"field": "name"})
	}
	dim := req.Dimension
	if dim == nil {
		dim = req.Dim
	}
	if dim == nil && req.Model == "" {
		return kit.BadRequest("missing field \"dimension\" (or \"model\" to take the embedder's)").WithDetails(map[string]any{"field": "dimension"})
	}
	spec := IndexSpec{Name: req.Name, Metric: req.Distance, M: req.M, EfConstruction: req.EfConstruction,
		EfSearch: req.EfSearch, TargetRecall: req.TargetRecall, Model: req.Model,
		Quantization: req.Quantization, Rescore: req.Rescore}
	if spec.Metric == "" {
		spec.Metric = req.Metric
	}
	if dim != nil {
		spec.Dim = *dim
		if spec.Dim <= 0 {
			return kit.BadRequest("dimension must be positive, got %d", spec.Dim)
		}
	}
	info, err := m.svc.Create(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}

func (m *Module) list(c echo.Context) error {
	all, err := m.svc.List(c.Request().Context())
	if err != nil {
		return err
	}
	shown := all[:0]
	for _, ix := range all {
		if ix.Dataset == "" || kit.SeesDataset(c.Request().Context(), ix.Dataset) {
			shown = append(shown, ix)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"indexes": shown, "count": len(shown)})
}

// granted answers 404, as for an index that does not exist, when the
// index was built from a dataset the caller is not granted; every route
// naming an index goes through it first.
func (m *Module) granted(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ix, err := m.svc.get(c.Param("name"))
		if err == nil && ix.spec.Dataset != "" && !kit.SeesDataset(c.Request().Context(), ix.spec.Dataset) {
			return fmt.Errorf("vector: %q: %w", c.Param("name"), ErrIndexNotFound)
		}
		return next(c)
	}
}

func (m *Module) info(c echo.Context) error {
	info, err := m.svc.Info(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

func (m *Module) drop(c echo.Context) error {
	if err := m.svc.Drop(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type addRequest struct {
	Items []Item `json:"items"`
}

func (m *Module) add(c echo.Context) error {
	name := c.Param("name")
	if _, err := m.svc.get(name); err != nil {
		return err // 404 before reading a large body
	}
	var req addRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Items == nil {
		return kit.BadRequest("missing field \"items\"").WithDetails(map[string]any{"field": "items"})
	}
	if err := m.svc.Add(c.Request().Context(), name, req.Items); err != nil {
		return err
	}
	ix, err := m.svc.get(name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"added": len(req.Items), "length": ix.length()})
}

func (m *Module) search(c echo.Context) error {
	var req SearchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := m.svc.Query(c.Request().Context(), c.Param("name"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (m *Module) deleteItem(c echo.Context) error {
	id := c.Param("id")
	// echo routes on the escaped path only when the request has one that
	// differs from the decoded path (RawPath); only then is the param still
	// escaped. Unescaping a decoded id again would turn "50%2F" into "50/".
	if c.Request().URL.RawPath != "" {
		if u, err := url.PathUnescape(id); err == nil {
			id = u
		}
	}
	if err := m.svc.Delete(c.Request().Context(), c.Param("name"), []string{id}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
