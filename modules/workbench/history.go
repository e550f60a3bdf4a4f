package workbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// historyPrefix keeps every version of every saved query, deleted ones
// included (a delete removes only the current object): nothing saved is
// ever lost, and any version can be restored.
const historyPrefix = "_workbench/history/"

// planTimeoutMS bounds the EXPLAIN a save runs: planning reads only
// catalog metadata, so a slow plan means something is wrong.
const planTimeoutMS = 15_000

func historyKey(id string, v int) string { return fmt.Sprintf("%s%s/%08d.json", historyPrefix, id, v) }

// History is GET /v1/workbench/queries/<id>/versions.
type History struct {
	ID string `json:"id"`
	// Current is the version in use; 0 when the query was deleted (its
	// versions can still be restored).
	Current  int          `json:"current"`
	Versions []SavedQuery `json:"versions"` // newest first
}

// restoreBody is POST /v1/workbench/queries/<id>/restore.
type restoreBody struct {
	Version int `json:"version"`
}

// versions lists a query's kept versions, newest first.
func (s *queryStore) versions(ctx context.Context, id string) ([]SavedQuery, error) {
	var out []SavedQuery
	err := storage.Each(ctx, s.st, historyPrefix+id+"/", func(o storage.ObjectInfo) error {
		var q SavedQuery
		if err := s.getJSON(ctx, o.Key, &q); err != nil {
			return err
		}
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workbench: history of %s: %w", id, err)
	}
	slices.SortFunc(out, func(a, b SavedQuery) int { return b.Version - a.Version })
	return out, nil
}

// lastVersion is the highest version in a query's history (0: none).
func (s *queryStore) lastVersion(ctx context.Context, id string) (int, error) {
	vs, err := s.versions(ctx, id)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[0].Version, nil
}

// upgrade gives a query saved before versions existed its version 1, in
// its history, before anything replaces or deletes it.
func (s *queryStore) upgrade(ctx context.Context, q SavedQuery) (SavedQuery, error) {
	if q.Version > 0 {
		return q, nil
	}
	q.Version = 1
	if q.CreatedBy == "" {
		q.CreatedBy = q.UpdatedBy
	}
	return q, s.putJSON(ctx, historyKey(q.ID, 1), q)
}

func (s *queryStore) getJSON(ctx context.Context, key string, v any) error {
	rc, _, err := s.st.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("workbench: decode %s: %w", key, err)
	}
	return nil
}

// restore makes version v of a query its next version (recreating a
// deleted query). The content was valid when saved; it is not planned
// again, so a version that no longer plans (a renamed table) can still
// be brought back and fixed.
func (s *queryStore) restore(ctx context.Context, id string, v int, by string) (SavedQuery, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var old SavedQuery
	if err := s.getJSON(ctx, historyKey(id, v), &old); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return old, false, kit.NotFound("saved query %q has no version %d", id, v)
		}
		return old, false, err
	}
	last, err := s.lastVersion(ctx, id)
	if err != nil {
		return old, false, err
	}
	cur, err := s.get(ctx, id)
	created := errors.Is(err, storage.ErrNotFound)
	if err != nil && !created {
		return old, false, err
	}
	q := old
	q.Version = last + 1
	q.UpdatedAt, q.UpdatedBy = timeNow(), by
	if !created {
		q.CreatedAt, q.CreatedBy = cur.CreatedAt, cur.CreatedBy
	}
	if err := s.putJSON(ctx, historyKey(id, q.Version), q); err != nil {
		return q, false, err
	}
	if err := s.putJSON(ctx, queriesPrefix+id+".json", q); err != nil {
		return q, false, err
	}
	return q, created, nil
}

func (m *Module) queryVersions(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	ctx := c.Request().Context()
	vs, err := m.queries.versions(ctx, id)
	if err != nil {
		return err
	}
	h := History{ID: id, Versions: vs}
	cur, err := m.queries.get(ctx, id)
	switch {
	case err == nil:
		h.Current = max(cur.Version, 1)
		if cur.Version == 0 { // saved before versions: it is its own history
			cur.Version = 1
			h.Versions = append([]SavedQuery{cur}, h.Versions...)
		}
	case !errors.Is(err, storage.ErrNotFound):
		return err
	case len(vs) == 0:
		return kit.NotFound("no saved query %q", id)
	}
	return c.JSON(http.StatusOK, h)
}

func (m *Module) restoreQuery(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	var b restoreBody
	if err := kit.DecodeJSON(c.Request().Body, &b, kit.Strict()); err != nil {
		return err
	}
	if b.Version < 1 {
		return kit.BadRequest("version: the version to restore (1 or more) is required")
	}
	q, created, err := m.queries.restore(c.Request().Context(), id, b.Version, kit.PrincipalName(c))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	kit.AuditNote(c, "name", q.Name)
	kit.AuditNote(c, "version", q.Version)
	kit.AuditNote(c, "restored", b.Version)
	return c.JSON(status, SavedAnswer{SavedQuery: q, Changed: true})
}

// defaults are a query's parameter values when nothing else is given
// (null for a parameter without a default).
func defaults(q SavedQuery) []any {
	out := make([]any, len(q.Params))
	for i, p := range q.Params {
		out[i] = p.Default
	}
	return out
}

var explainPrefix = regexp.MustCompile(`(?is)^\s*explain\b`)

// plan checks that a query parses and plans: EXPLAIN (which never runs
// it) through POST /v1/sql as a sub-request, with the caller's grants and
// the parameters' defaults. Without the query module nothing can plan,
// and the query is saved as it is.
func (m *Module) plan(c echo.Context, q SavedQuery) error {
	if !m.canPlan {
		return nil
	}
	text := q.SQL
	if !explainPrefix.MatchString(text) {
		text = "EXPLAIN " + text
	}
	body, _ := json.Marshal(map[string]any{"sql": text, "params": defaults(q), "timeout_ms": planTimeoutMS})
	rec := httptest.NewRecorder()
	kit.SubRequest(c, rec, http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
	if rec.Code == http.StatusOK {
		return nil
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code >= 500 {
		return kit.Errorf(http.StatusBadGateway, "plan_failed", "could not check the query (the SQL route answered %d: %s); not saved", rec.Code, e.Error.Message)
	}
	err := kit.BadRequest("sql: the query does not plan, so it was not saved: %s", e.Error.Message)
	err.Code = "invalid_query"
	err.Details["sql_error"] = e.Error.Code
	return err
}

// runQuery answers a saved query's result through POST /v1/sql (the
// caller's grants hold): GET /v1/workbench/queries/<id>/run?format=json|csv
// &limit=N&<param>=value (or p.<param>=value, for a parameter named like
// format or limit). A parameter left out takes its default.
func (m *Module) runQuery(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(id); err != nil {
		return err
	}
	q, err := m.queries.get(c.Request().Context(), id)
	if err != nil {
		return notFound(err, id)
	}
	qs := c.QueryParams()
	format := qs.Get("format")
	switch format {
	case "", "json":
		format = "json"
	case "csv":
	default:
		return kit.BadRequest("format: %q is not json or csv", format)
	}
	req := map[string]any{"sql": q.SQL, "format": format}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return kit.BadRequest("limit: %q is not a whole number of rows", l)
		}
		req["limit"] = n
	}
	known := map[string]bool{"format": true, "limit": true}
	params := defaults(q)
	for i, p := range q.Params {
		known[p.Name], known["p."+p.Name] = true, true
		raw, given := qs["p."+p.Name]
		if !given && p.Name != "format" && p.Name != "limit" {
			raw, given = qs[p.Name]
		}
		if !given {
			if p.Default == nil {
				return kit.BadRequest("parameter %q ($%d) has no default: give ?%s=…", p.Name, i+1, p.Name)
			}
			continue
		}
		v := raw[len(raw)-1]
		if p.Type == "number" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return kit.BadRequest("parameter %q ($%d) is a number, got %q", p.Name, i+1, v)
			}
			params[i] = f
		} else {
			params[i] = v
		}
	}
	for k := range qs {
		if !known[k] {
			names := make([]string, len(q.Params))
			for i, p := range q.Params {
				names[i] = p.Name
			}
			return kit.BadRequest("unknown query parameter %q: saved query %q takes format, limit and its parameters [%s]", k, id, strings.Join(names, ", "))
		}
	}
	req["params"] = params
	body, _ := json.Marshal(req)
	c.Response().Header().Set("X-Saved-Query-Version", strconv.Itoa(max(q.Version, 1)))
	kit.SubRequest(c, c.Response(), http.MethodPost, "/v1/sql", "application/json", bytes.NewReader(body))
	return nil
}
