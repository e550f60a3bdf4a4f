package catalog

import (
	"lakehouse/modules/kit"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Routes implements kit.Router: every catalog route, handlers below.
func (m *Module) Routes(g *echo.Group) {
	g.POST("/register", m.handleRegister)
	g.GET("/list", m.handleList)
	g.GET("/manifest/:name", m.handleManifest)
	g.GET("/versions/:name", m.handleVersions)
	g.DELETE("/datasets/:name", m.handleDelete)
	g.GET("/datasets/:name/changes", m.handleChanges)
	m.maintenanceRoutes(g)
	m.keyRoutes(g)
}

// handleChanges sends the change feed's readers to the SQL module, which
// reads the versions' parts (the catalog only knows their names): 307
// keeps the method, and clients send the same Authorization to the same
// host.
func (m *Module) handleChanges(c echo.Context) error {
	name := c.Param("name")
	if err := ValidateName(name); err != nil {
		return err
	}
	target := "/v1/sql/changes/" + name
	if q := c.QueryString(); q != "" {
		target += "?" + q
	}
	return c.Redirect(http.StatusTemporaryRedirect, target)
}

// registerBody is POST /v1/catalog/register. Files may be given as file
// objects or, as older clients do, as bare object keys.
type registerBody struct {
	Name              string   `json:"name"`
	SchemaFingerprint string   `json:"schema_fingerprint"`
	Schema            []Column `json:"schema"`
	Files             []File   `json:"files"`
	ObjectKey         string   `json:"object_key"`
	ObjectKeys        []string `json:"object_keys"`
	RowCount          int64    `json:"row_count"`
	Source            string   `json:"source"`
	IdempotencyKey    string   `json:"idempotency_key"`
	AllowSchemaChange bool     `json:"allow_schema_change"`
}

// ManifestResponse is a manifest as the routes answer it: the manifest,
// its object keys (the original's field) and, from register, existing.
type ManifestResponse struct {
	Manifest
	ObjectKeys []string `json:"object_keys"`
	Existing   *bool    `json:"existing,omitempty"`
	// Internal marks a dataset a module keeps for itself (observer_events,
	// the audit trail): listed, but not business data, so the workbench
	// and MCP leave it out unless asked.
	Internal bool `json:"internal,omitempty"`
}

// Response wraps a manifest for a JSON answer.
func Response(m Manifest, existing *bool) ManifestResponse {
	keys := make([]string, 0, len(m.Files))
	for _, f := range m.Files {
		keys = append(keys, f.Key)
	}
	return ManifestResponse{Manifest: m, ObjectKeys: keys, Existing: existing}
}

func (m *Module) handleRegister(c echo.Context) error {
	var b registerBody
	if err := kit.DecodeJSON(c.Request().Body, &b); err != nil {
		return err
	}
	if b.Name == "" {
		return kit.BadRequest("name is required")
	}
	if b.SchemaFingerprint == "" {
		return kit.BadRequest("schema_fingerprint is required")
	}
	files := b.Files
	for _, k := range append([]string{b.ObjectKey}, b.ObjectKeys...) {
		if k != "" {
			files = append(files, File{Key: k})
		}
	}
	man, existing, err := m.store.Register(c.Request().Context(), RegisterRequest{
		Name: b.Name, Schema: b.Schema, SchemaFingerprint: b.SchemaFingerprint, Files: files,
		RowCount: b.RowCount, Source: b.Source, IdempotencyKey: b.IdempotencyKey, AllowSchemaChange: b.AllowSchemaChange,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK
	}
	return c.JSON(status, Response(man, &existing))
}

func (m *Module) handleList(c echo.Context) error {
	ms, err := m.store.List(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]ManifestResponse, 0, len(ms))
	for _, x := range ms {
		if !kit.SeesDataset(c.Request().Context(), x.Name) {
			continue // beyond the caller's grants: as if it did not exist
		}
		r := Response(x, nil)
		r.Internal = m.store.reservedBy(x.Name) != ""
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, map[string]any{"datasets": out, "count": len(out)})
}

func (m *Module) handleManifest(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	var man Manifest
	var err error
	if v := c.QueryParam("version"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 {
			return kit.BadRequest("version must be a positive integer, got %q", v)
		}
		man, err = m.store.GetVersion(ctx, name, n)
	} else {
		man, err = m.store.Get(ctx, name)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Response(man, nil))
}

func (m *Module) handleVersions(c echo.Context) error {
	ms, err := m.store.Versions(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	out := make([]ManifestResponse, 0, len(ms))
	for _, x := range ms {
		if !kit.SeesDataset(c.Request().Context(), x.Name) {
			continue // beyond the caller's grants: as if it did not exist
		}
		r := Response(x, nil)
		r.Internal = m.store.reservedBy(x.Name) != ""
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, map[string]any{"name": c.Param("name"), "versions": out})
}

func (m *Module) handleDelete(c echo.Context) error {
	name := c.Param("name")
	if err := m.store.Delete(c.Request().Context(), name); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": name, "deleted": true})
}
