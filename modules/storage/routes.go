package storage

import (
	"fmt"
	"io"
	"lakehouse/modules/kit"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// MaxListPage is the most objects one list call returns.
const MaxListPage = 10000

// Routes mounts the storage routes (both the original's put/get/delete
// paths and the /objects/ resource paths).
func (m *Module) Routes(g *echo.Group) {
	put := m.putLimit
	anyType := kit.MediaTypes("*/*") // objects are opaque bytes of any type
	g.PUT("/put/*", m.handlePut, anyType, put)
	g.PUT("/objects/*", m.handlePut, anyType, put)
	g.GET("/get/*", m.handleGet)
	g.GET("/objects/*", m.handleGet)
	g.HEAD("/objects/*", m.handleHead)
	g.DELETE("/delete/*", m.handleDelete)
	g.DELETE("/objects/*", m.handleDelete)
	g.GET("/list", m.handleList)
}

// keyParam is the object key: the decoded path after the route's prefix
// (so %2F and %25 in keys arrive as "/" and "%"). Every key route passes
// here, so a reserved key is refused for reads and writes alike.
func keyParam(c echo.Context) (string, error) {
	prefix := strings.TrimSuffix(c.Path(), "*")
	key := strings.TrimPrefix(c.Request().URL.Path, prefix)
	if err := ValidateKey(key); err != nil {
		return "", kit.BadRequest("%v", err).WithDetails(map[string]any{"key": key})
	}
	if err := CheckPublicKey(key); err != nil {
		return "", kit.WithDetails(err, map[string]any{"key": key})
	}
	return key, nil
}

// checkMutable asks the owner of datasets/ (the catalog's
// ReferenceChecker, looked up per request because the catalog is
// initialised after storage) whether the public API may overwrite or
// delete key. Without a catalog in this process nothing can prove a key
// under datasets/ unreferenced, so writes there are refused.
func (m *Module) checkMutable(c echo.Context, key string) error {
	var err error
	if rc, ok := kit.Lookup[ReferenceChecker](m.c); ok {
		err = rc.CheckMutable(c.Request().Context(), key)
	} else if strings.HasPrefix(key, DatasetsPrefix) {
		err = fmt.Errorf("%w: %q is under %s, which the catalog manages, and the catalog module is not running in this process", ErrReserved, key, DatasetsPrefix)
	}
	if err != nil {
		return kit.WithDetails(err, map[string]any{"key": key})
	}
	return nil
}

// putLimit validates the key, refuses reserved and referenced keys,
// applies the per-prefix cap from the declared length (all before reading
// the body) and takes a PUT slot.
func (m *Module) putLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, err := keyParam(c)
		if err != nil {
			return err
		}
		if err := m.checkMutable(c, key); err != nil {
			return err
		}
		limit := m.cfg.CapFor(key)
		return kit.BodyLimit(limit)(func(c echo.Context) error {
			release, ok := m.lim.acquirePut()
			if !ok {
				return kit.Unavailable(5, "too many concurrent uploads (max %d); retry later", m.cfg.MaxConcurrentPuts)
			}
			defer release()
			return next(c)
		})(c)
	}
}

func (m *Module) handlePut(c echo.Context) error {
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	size := c.Request().ContentLength
	info, err := m.store.Put(c.Request().Context(), key, c.Request().Body, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}

func (m *Module) handleGet(c echo.Context) error {
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	release, ok := m.lim.acquireGet()
	if !ok {
		return kit.Unavailable(5, "too many concurrent downloads (max %d); retry later", m.cfg.MaxConcurrentGets)
	}
	defer release()
	rc, info, err := m.store.Get(c.Request().Context(), key)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	h.Set("ETag", quoteETag(info.ETag))
	h.Set(echo.HeaderLastModified, info.Modified.UTC().Format(http.TimeFormat))
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), rc)
	return err
}

func (m *Module) handleHead(c echo.Context) error {
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	info, err := m.store.Stat(c.Request().Context(), key)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	h.Set(echo.HeaderContentType, info.ContentType)
	h.Set("ETag", quoteETag(info.ETag))
	h.Set(echo.HeaderLastModified, info.Modified.UTC().Format(http.TimeFormat))
	return c.NoContent(http.StatusOK)
}

func (m *Module) handleDelete(c echo.Context) error {
	key, err := keyParam(c)
	if err != nil {
		return err
	}
	if err := m.checkMutable(c, key); err != nil {
		return err
	}
	if err := m.store.Delete(c.Request().Context(), key); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Deleted{Key: key, Deleted: true})
}

func (m *Module) handleList(c echo.Context) error {
	prefix, cursor := c.QueryParam("prefix"), c.QueryParam("cursor")
	limit := MaxListPage
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return kit.BadRequest("limit must be a positive integer, got %q", s)
		}
		limit = min(n, MaxListPage)
	}
	if err := ValidatePrefix(prefix); err != nil {
		return kit.BadRequest("%v", err).WithDetails(map[string]any{"prefix": prefix})
	}
	if err := CheckPublicPrefix(prefix); err != nil {
		return kit.WithDetails(err, map[string]any{"prefix": prefix})
	}
	page, err := publicList(c.Request().Context(), m.store, prefix, cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ListAnswer{Prefix: prefix, Objects: page.Objects, Count: len(page.Objects),
		Cursor: page.Cursor, Truncated: page.Cursor != ""})
}

func quoteETag(e string) string {
	if strings.HasPrefix(e, `"`) {
		return e
	}
	return `"` + e + `"`
}

// limiter caps concurrent PUTs and GETs through HTTP; a full limiter
// answers 503 at once instead of queueing the client.
type limiter struct{ puts, gets chan struct{} }

func newLimiter(puts, gets int) *limiter {
	return &limiter{puts: make(chan struct{}, puts), gets: make(chan struct{}, gets)}
}

func (l *limiter) acquirePut() (func(), bool) { return acquire(l.puts) }
func (l *limiter) acquireGet() (func(), bool) { return acquire(l.gets) }

func acquire(sem chan struct{}) (func(), bool) {
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, true
	default:
		return nil, false
	}
}
