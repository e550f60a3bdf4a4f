package catalog

import (
	"lakehouse/modules/kit"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// retentionBody is PUT /v1/catalog/retention/<name>: the dataset's own
// retention, or reset to go back to the default.
type retentionBody struct {
	KeepVersions *int   `json:"keep_versions"`
	KeepAge      string `json:"keep_age"`
	Reset        bool   `json:"reset"`
}

// tagBody is PUT /v1/catalog/tags/<name>/<tag>.
type tagBody struct {
	Version int `json:"version"`
}

// maintenanceRoutes mounts retention, tags and maintenance.
func (m *Module) maintenanceRoutes(g *echo.Group) {
	g.GET("/retention/:name", m.handleGetRetention)
	g.PUT("/retention/:name", m.handlePutRetention)
	g.GET("/tags/:name", m.handleTags)
	g.PUT("/tags/:name/:tag", m.handlePutTag)
	g.DELETE("/tags/:name/:tag", m.handleDeleteTag)
	g.GET("/maintenance", m.handleMaintenanceStatus)
	g.POST("/maintenance", m.handleMaintain)
}

func (m *Module) handleGetRetention(c echo.Context) error {
	info, err := m.store.RetentionOf(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

func (m *Module) handlePutRetention(c echo.Context) error {
	var b retentionBody
	if err := kit.DecodeJSON(c.Request().Body, &b, kit.Strict()); err != nil {
		return err
	}
	var r *Retention
	if !b.Reset {
		if b.KeepVersions == nil && b.KeepAge == "" {
			return kit.BadRequest("give keep_versions and/or keep_age, or reset: true to go back to the default")
		}
		// A field left out keeps the value in effect now (the dataset's
		// own, or the default it inherits).
		cur, _ := m.store.retentionFor(c.Param("name"))
		r = &cur
		if b.KeepVersions != nil {
			if *b.KeepVersions < 0 {
				return kit.BadRequest("keep_versions must be 0 (no count limit) or more, got %d", *b.KeepVersions)
			}
			r.KeepVersions = *b.KeepVersions
		}
		if b.KeepAge != "" {
			d, err := time.ParseDuration(b.KeepAge)
			if err != nil || d < 0 {
				return kit.BadRequest("keep_age must be a duration such as \"72h\" or \"0s\" (no age limit), got %q", b.KeepAge)
			}
			r.KeepAge = d
		}
	} else if b.KeepVersions != nil || b.KeepAge != "" {
		return kit.BadRequest("reset takes no keep_versions or keep_age")
	}
	ctx := c.Request().Context()
	expired, err := m.store.SetRetention(ctx, c.Param("name"), r)
	if err != nil {
		return err
	}
	info, err := m.store.RetentionOf(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	if expired == nil {
		expired = []int{}
	}
	return c.JSON(http.StatusOK, map[string]any{"retention": info, "expired": expired})
}

func (m *Module) handleTags(c echo.Context) error {
	info, err := m.store.RetentionOf(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": info.Name, "tags": info.Tags})
}

func (m *Module) handlePutTag(c echo.Context) error {
	var b tagBody
	if err := kit.DecodeJSON(c.Request().Body, &b, kit.Strict()); err != nil {
		return err
	}
	if b.Version < 1 {
		return kit.BadRequest("version must be a positive integer, got %d", b.Version)
	}
	name, tag := c.Param("name"), c.Param("tag")
	if err := m.store.Tag(c.Request().Context(), name, tag, b.Version); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": name, "tag": tag, "version": b.Version})
}

func (m *Module) handleDeleteTag(c echo.Context) error {
	name, tag := c.Param("name"), c.Param("tag")
	if err := m.store.Untag(c.Request().Context(), name, tag); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": name, "tag": tag, "deleted": true})
}

func (m *Module) handleMaintenanceStatus(c echo.Context) error {
	st, err := m.store.MaintenanceStatus(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"datasets": st})
}

func (m *Module) handleMaintain(c echo.Context) error {
	dry := false
	if v := c.QueryParam("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return kit.BadRequest("dry_run must be true or false, got %q", v)
		}
		dry = b
	}
	rep, err := m.store.Maintain(c.Request().Context(), c.QueryParam("dataset"), dry, MaintenanceConfig(m.cfg))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
