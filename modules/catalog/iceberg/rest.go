package iceberg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Lister returns the names of the live datasets (the catalog's List).
type Lister func(ctx context.Context) ([]string, error)

// restError is the Iceberg REST spec's ErrorModel; unlike the rest of
// lakehouse's API, code is the HTTP status as an integer.
type restError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

func writeRESTError(c echo.Context, status int, typ, format string, args ...any) error {
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	return c.JSON(status, map[string]restError{"error": {Message: fmt.Sprintf(format, args...), Type: typ, Code: status}})
}

// specErrors renders every error under the prefix (the auth gate's
// included) in the spec's shape instead of lakehouse's own.
func specErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		// The one error answer (kit.Answer: typed status, a 500 without
		// its cause, paths scrubbed), in the spec's JSON shape.
		ae := kit.AnswerFor(c, err, slog.Default())
		status, msg := ae.Status, ae.Message
		typ := map[int]string{
			http.StatusBadRequest: "BadRequestException", http.StatusUnauthorized: "NotAuthorizedException",
			http.StatusForbidden: "ForbiddenException", http.StatusNotFound: "NotFoundException",
			http.StatusMethodNotAllowed: "MethodNotAllowedException", http.StatusServiceUnavailable: "ServiceUnavailableException",
		}[status]
		if typ == "" {
			typ = "ServerErrorException"
		}
		return writeRESTError(c, status, typ, "%s", msg)
	}
}

// readOnly is the answer to every write endpoint of the spec.
func readOnly(c echo.Context) error {
	return writeRESTError(c, http.StatusForbidden, "ForbiddenException",
		"lakehouse is the only writer of its Iceberg tables: this catalog is read-only (write through /v1/ingest or /v1/catalog/register)")
}

// Endpoints is what GET /iceberg/v1/config advertises.
var Endpoints = []string{
	"GET /v1/{prefix}/namespaces",
	"GET /v1/{prefix}/namespaces/{namespace}",
	"HEAD /v1/{prefix}/namespaces/{namespace}",
	"GET /v1/{prefix}/namespaces/{namespace}/tables",
	"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
}

// Mount serves the read side of the Iceberg REST catalog on g (the
// /iceberg group, behind the auth gate): clients use the URI
// http://host:port/iceberg. Write endpoints answer 403, anything else
// under the prefix 404 or 405, all in the spec's error shape.
func (t *Tables) Mount(g *echo.Group, list Lister) {
	h := &restHandler{t: t, list: list}
	g.GET("/v1/config", h.config)
	g.GET("/v1/namespaces", h.namespaces)
	g.POST("/v1/namespaces", readOnly)
	g.GET("/v1/namespaces/:ns", h.namespace)
	g.HEAD("/v1/namespaces/:ns", h.namespace)
	g.DELETE("/v1/namespaces/:ns", readOnly)
	g.POST("/v1/namespaces/:ns/properties", readOnly)
	g.GET("/v1/namespaces/:ns/tables", h.tables)
	g.POST("/v1/namespaces/:ns/tables", readOnly)
	g.POST("/v1/namespaces/:ns/register", readOnly)
	g.GET("/v1/namespaces/:ns/tables/:table", h.table)
	g.HEAD("/v1/namespaces/:ns/tables/:table", h.table)
	g.POST("/v1/namespaces/:ns/tables/:table", readOnly)
	g.DELETE("/v1/namespaces/:ns/tables/:table", readOnly)
	g.POST("/v1/namespaces/:ns/tables/:table/metrics", readOnly)
	g.POST("/v1/tables/rename", readOnly)
	g.POST("/v1/transactions/commit", readOnly)
	g.POST("/v1/oauth/tokens", func(c echo.Context) error {
		return writeRESTError(c, http.StatusMethodNotAllowed, "MethodNotAllowedException",
			"this catalog issues no tokens: send the lakehouse token as a bearer token (client property \"token\")")
	})
	g.Any("/*", func(c echo.Context) error {
		return writeRESTError(c, http.StatusNotFound, "NotFoundException", "no Iceberg REST endpoint %s %s (read-only catalog; see GET /iceberg/v1/config)",
			c.Request().Method, c.Request().URL.Path)
	})
}

type restHandler struct {
	t    *Tables
	list Lister
}

func (h *restHandler) config(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}, "endpoints": Endpoints})
}

func (h *restHandler) namespaces(c echo.Context) error {
	if p := c.QueryParam("parent"); p != "" {
		if err := h.checkNS(c, p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"namespaces": [][]string{}})
	}
	return c.JSON(http.StatusOK, map[string]any{"namespaces": [][]string{{h.t.namespace}}})
}

// checkNS answers 404 for any namespace but the configured one. The
// namespace arrives URL-encoded, levels joined by %1F.
func (h *restHandler) checkNS(c echo.Context, raw string) error {
	ns, err := url.PathUnescape(raw)
	if err != nil || ns != h.t.namespace {
		return writeRESTError(c, http.StatusNotFound, "NoSuchNamespaceException", "namespace does not exist: %s", strings.ReplaceAll(ns, "\x1f", "."))
	}
	return nil
}

func (h *restHandler) namespace(c echo.Context) error {
	if err := h.checkNS(c, c.Param("ns")); err != nil || c.Response().Committed {
		return err
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, map[string]any{"namespace": []string{h.t.namespace}, "properties": map[string]string{}})
}

type tableIdent struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

func (h *restHandler) tables(c echo.Context) error {
	if err := h.checkNS(c, c.Param("ns")); err != nil || c.Response().Committed {
		return err
	}
	names, err := h.list(c.Request().Context())
	if err != nil {
		return err
	}
	slices.Sort(names)
	ids := make([]tableIdent, 0, len(names))
	for _, n := range names {
		ids = append(ids, tableIdent{Namespace: []string{h.t.namespace}, Name: n})
	}
	return c.JSON(http.StatusOK, map[string]any{"identifiers": ids})
}

// table is LoadTable (GET) and TableExists (HEAD): the current metadata
// file, byte for byte, and where it lives.
func (h *restHandler) table(c echo.Context) error {
	if err := h.checkNS(c, c.Param("ns")); err != nil || c.Response().Committed {
		return err
	}
	name, _ := url.PathUnescape(c.Param("table"))
	ctx := c.Request().Context()
	live, err := h.list(ctx)
	if err != nil {
		return err
	}
	noTable := func() error {
		return writeRESTError(c, http.StatusNotFound, "NoSuchTableException", "table does not exist: %s.%s", h.t.namespace, name)
	}
	if !slices.Contains(live, name) {
		return noTable()
	}
	loc, raw, err := h.t.CurrentMetadata(ctx, name)
	if errors.Is(err, ErrNoTable) {
		return noTable()
	}
	if err != nil {
		return err
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusNoContent)
	}
	body, err := json.Marshal(map[string]any{"metadata-location": loc, "metadata": json.RawMessage(raw), "config": map[string]string{}})
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

// CurrentMetadata returns the location and bytes of a dataset's current
// metadata file (ErrNoTable when it has none).
func (t *Tables) CurrentMetadata(ctx context.Context, name string) (string, []byte, error) {
	seq, err := t.hint(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if seq == 0 {
		return "", nil, fmt.Errorf("%w for dataset %q", ErrNoTable, name)
	}
	rc, _, err := t.store.Get(ctx, metaKey(name, seq))
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil, fmt.Errorf("%w for dataset %q (hint names a missing metadata file)", ErrNoTable, name)
	}
	if err != nil {
		return "", nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return "", nil, err
	}
	return t.MetadataLocation(name, seq), bytes.TrimSpace(buf.Bytes()), nil
}

// SpecErrors is the middleware that renders errors in the spec's shape;
// it must wrap the auth gate so a refused token answers in that shape too.
func SpecErrors() echo.MiddlewareFunc { return specErrors }
