package workbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// queriesPrefix is where saved queries live: one JSON object per query
// under a reserved "_" prefix, so the storage API cannot overwrite them.
const queriesPrefix = "_workbench/queries/"

// Limits that keep one saved query small and the list bounded.
const (
	maxQueries  = 1000
	maxSQLBytes = 64 << 10
	maxParams   = 20
)

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	paramPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)
)

// Param is one parameter of a saved query. The SQL refers to the i-th
// parameter as $i (1-based), in this order; the UI renders an input per
// parameter and sends the values as /v1/sql's params.
type Param struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // "text" (default) or "number"
	Default any    `json:"default,omitempty"`
}

// SavedQuery is a named, shared query. Every change is a new version
// (kept in its history, see history.go); CreatedBy is its owner, the
// principal who first saved it.
type SavedQuery struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	SQL         string    `json:"sql"`
	Params      []Param   `json:"params"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
}

// putBody is PUT /v1/workbench/queries/<id>: the query, and the version
// the client edited. base_version 0 means "create: it must not exist";
// left out, the PUT replaces whatever is there (older clients, demo seed).
type putBody struct {
	SavedQuery
	BaseVersion *int `json:"base_version,omitempty"`
}

// sameContent reports whether two versions say the same thing.
func (q SavedQuery) sameContent(o SavedQuery) bool {
	return q.Name == o.Name && q.Description == o.Description && q.SQL == o.SQL && reflect.DeepEqual(q.Params, o.Params)
}

func (q *SavedQuery) validate() error {
	q.Name = strings.TrimSpace(q.Name)
	switch {
	case q.Name == "" || len(q.Name) > 200:
		return kit.BadRequest("name: required, at most 200 bytes")
	case strings.TrimSpace(q.SQL) == "":
		return kit.BadRequest("sql: required")
	case len(q.SQL) > maxSQLBytes:
		return kit.TooLarge("sql: %d bytes, at most %d", len(q.SQL), maxSQLBytes)
	case len(q.Description) > 2000:
		return kit.BadRequest("description: at most 2000 bytes")
	case len(q.Params) > maxParams:
		return kit.BadRequest("params: at most %d", maxParams)
	}
	if q.Params == nil {
		q.Params = []Param{}
	}
	seen := map[string]bool{}
	for i := range q.Params {
		p := &q.Params[i]
		if !paramPattern.MatchString(p.Name) || seen[strings.ToLower(p.Name)] {
			return kit.BadRequest("params[%d].name: %q must be a unique identifier ([A-Za-z_][A-Za-z0-9_]*)", i, p.Name)
		}
		seen[strings.ToLower(p.Name)] = true
		switch p.Type {
		case "":
			p.Type = "text"
		case "text", "number":
		default:
			return kit.BadRequest("params[%d].type: %q is not text or number", i, p.Type)
		}
		switch p.Default.(type) {
		case nil, string, float64, bool:
		default:
			return kit.BadRequest("params[%d].default: must be a string, number or boolean", i)
		}
	}
	return nil
}

// queryStore keeps saved queries in object storage. Writes are
// serialised in-process so a read-modify-write of created_at is safe.
type queryStore struct {
	st storage.Store
	mu sync.Mutex
}

func (s *queryStore) get(ctx context.Context, id string) (SavedQuery, error) {
	var q SavedQuery
	rc, _, err := s.st.Get(ctx, queriesPrefix+id+".json")
	if err != nil {
		return q, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 2*maxSQLBytes))
	if err != nil {
		return q, fmt.Errorf("workbench: read query %s: %w", id, err)
	}
	if err := json.Unmarshal(data, &q); err != nil {
		return q, fmt.Errorf("workbench: decode query %s: %w", id, err)
	}
	return q, nil
}

func (s *queryStore) list(ctx context.Context) ([]SavedQuery, error) {
	var out []SavedQuery
	cursor := ""
	for len(out) < maxQueries {
		page, err := s.st.List(ctx, queriesPrefix, cursor, 1000)
		if err != nil {
			return nil, fmt.Errorf("workbench: list queries: %w", err)
		}
		for _, o := range page.Objects {
			id := strings.TrimSuffix(strings.TrimPrefix(o.Key, queriesPrefix), ".json")
			q, err := s.get(ctx, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted since the listing
			}
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	slices.SortFunc(out, func(a, b SavedQuery) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// put stores q as the query's next version and reports whether it was
// new and whether it changed. base, when given, must be the version the
// client edited (0: the query must not exist): a save built on an older
// version is a conflict, never a silent overwrite.
func (s *queryStore) put(ctx context.Context, q SavedQuery, by string, base *int) (SavedQuery, bool, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := timeNow()
	old, err := s.get(ctx, q.ID)
	created := errors.Is(err, storage.ErrNotFound)
	if err != nil && !created {
		return q, false, false, err
	}
	if !created {
		if old, err = s.upgrade(ctx, old); err != nil {
			return q, false, false, err
		}
	}
	switch {
	case base != nil && created && *base != 0:
		return q, false, false, kit.Conflict("query_gone", "saved query %q no longer exists (deleted since version %d was loaded); save it under a new name or restore it from its history", q.ID, *base)
	case base != nil && !created && *base == 0:
		return q, false, false, kit.Conflict("query_exists", "a saved query %q already exists (version %d by %s); open it, or save under another name", q.ID, old.Version, old.UpdatedBy)
	case base != nil && !created && *base != old.Version:
		return q, false, false, kit.Conflict("version_conflict", "saved query %q is at version %d (saved by %s at %s), not %d: reload it before saving", q.ID, old.Version, old.UpdatedBy, old.UpdatedAt.Format(time.RFC3339), *base)
	}
	switch {
	case created:
		q.CreatedAt, q.CreatedBy = now, by
		n, err := s.lastVersion(ctx, q.ID) // a deleted query's history goes on
		if err != nil {
			return q, false, false, err
		}
		q.Version = n + 1
	case old.sameContent(q):
		return old, false, false, nil
	default:
		q.CreatedAt, q.CreatedBy, q.Version = old.CreatedAt, old.CreatedBy, old.Version+1
	}
	if created {
		if n, err := s.count(ctx); err != nil {
			return q, false, false, err
		} else if n >= maxQueries {
			return q, false, false, kit.Errorf(http.StatusConflict, "too_many_queries", "at most %d saved queries; delete some first", maxQueries)
		}
	}
	q.UpdatedAt, q.UpdatedBy = now, by
	// History first: a version is never current without being kept.
	if err := s.putJSON(ctx, historyKey(q.ID, q.Version), q); err != nil {
		return q, false, false, err
	}
	if err := s.putJSON(ctx, queriesPrefix+q.ID+".json", q); err != nil {
		return q, false, false, err
	}
	return q, created, true, nil
}

func (s *queryStore) putJSON(ctx context.Context, key string, v any) error {
	data, _ := json.Marshal(v)
	if _, err := s.st.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("workbench: save %s: %w", key, err)
	}
	return nil
}

func (s *queryStore) count(ctx context.Context) (int, error) {
	n, cursor := 0, ""
	for {
		page, err := s.st.List(ctx, queriesPrefix, cursor, 1000)
		if err != nil {
			return 0, fmt.Errorf("workbench: list queries: %w", err)
		}
		n += len(page.Objects)
		if page.Cursor == "" || n > maxQueries {
			return n, nil
		}
		cursor = page.Cursor
	}
}

// delete removes the current version; the history stays, so a deleted
// query can be restored.
func (s *queryStore) delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.upgrade(ctx, q); err != nil {
		return err
	}
	return s.st.Delete(ctx, queriesPrefix+id+".json")
}

// timeNow is when a version is saved, in UTC.
func timeNow() time.Time { return time.Now().UTC() }

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return kit.BadRequest("query id %q: use 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit", id)
	}
	return nil
}

func notFound(err error, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return kit.NotFound("no saved query %q", id)
	}
	return err
}

func (m *Module) listQueries(c echo.Context) error {
	qs, err := m.queries.list(c.Request().Context())
	if err != nil {
		return err
	}
	shown := []SavedQuery{}
	for _, q := range qs {
		if m.visible(c.Request().Context(), q) {
			shown = append(shown, q)
		}
	}
	return c.JSON(http.StatusOK, QueryList{Queries: shown, Count: len(shown)})
}

func (m *Module) getQuery(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	q, err := m.queries.get(c.Request().Context(), id)
	if err != nil {
		return notFound(err, id)
	}
	return c.JSON(http.StatusOK, q)
}

// putQuery creates (201) or replaces (200) a saved query; the answer
// carries "changed": false when the stored query already said the same.
func (m *Module) putQuery(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	var b putBody
	if err := kit.DecodeJSON(c.Request().Body, &b); err != nil {
		return err
	}
	q := b.SavedQuery
	if q.ID != "" && q.ID != id {
		return kit.BadRequest("id in the body (%q) differs from the path (%q)", q.ID, id)
	}
	q.ID = id
	if err := q.validate(); err != nil {
		return err
	}
	if b.BaseVersion != nil && *b.BaseVersion < 0 {
		return kit.BadRequest("base_version must be 0 (create) or the version edited, got %d", *b.BaseVersion)
	}
	// Stored or not, a query must parse and plan: a broken edit is
	// refused here, not found by the next person who runs it.
	if err := m.plan(c, q); err != nil {
		return err
	}
	saved, created, changed, err := m.queries.put(c.Request().Context(), q, kit.PrincipalName(c), b.BaseVersion)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	kit.AuditNote(c, "name", saved.Name)
	kit.AuditNote(c, "version", saved.Version)
	kit.AuditNote(c, "created", created)
	return c.JSON(status, SavedAnswer{SavedQuery: saved, Changed: changed})
}

func (m *Module) deleteQuery(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	if err := m.queries.delete(c.Request().Context(), id); err != nil {
		return notFound(err, id)
	}
	return c.NoContent(http.StatusNoContent)
}
