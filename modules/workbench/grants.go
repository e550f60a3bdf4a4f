package workbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// Grants and erasure for saved queries. A saved query's SQL names
// datasets: a caller limited to some datasets does not see one that
// names others (list, get, versions, run, restore answer as if it did
// not exist), and an erasure redacts the person's values from every
// query and every kept version.

// visible reports whether the caller in ctx may see q: its SQL must pass
// the caller's grants (query.Reachability; without the query module,
// nothing names a dataset it can read, so everything is visible).
func (m *Module) visible(ctx context.Context, q SavedQuery) bool {
	if m.reach == nil {
		return true
	}
	ok, err := m.reach.Reachable(ctx, q.SQL)
	if err != nil {
		m.log.Warn("workbench: cannot check a saved query against the caller's grants; hidden", "id", q.ID, "err", err)
		return false
	}
	return ok
}

// granted answers 404 — as for a query that does not exist — when the
// query named by :id (its current version, else its newest kept one)
// names a dataset beyond the caller's grants.
func (m *Module) granted(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if p := kit.PrincipalOf(ctx); m.reach == nil || p == nil || p.AllDatasets() {
			return next(c)
		}
		id := c.Param("id")
		q, err := m.queries.get(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			if vs, verr := m.queries.versions(ctx, id); verr == nil && len(vs) > 0 {
				q, err = vs[0], nil
			}
		}
		if err == nil && !m.visible(ctx, q) {
			return kit.NotFound("no saved query %q", id)
		}
		return next(c)
	}
}

// TextRedactor replaces what erasure names in stored text: the SQL,
// name, description and defaults of every saved query and of every
// version its history keeps. The workbench module implements it.
type TextRedactor interface {
	RedactText(ctx context.Context, redact func(string) string) (int, error)
}

var _ TextRedactor = (*Module)(nil)

// RedactText implements TextRedactor; it returns how many stored
// versions changed (current ones and history alike).
func (m *Module) RedactText(ctx context.Context, redact func(string) string) (int, error) {
	m.queries.mu.Lock()
	defer m.queries.mu.Unlock()
	n := 0
	for _, prefix := range []string{queriesPrefix, historyPrefix} {
		objs, err := storage.ListAll(ctx, m.queries.st, prefix)
		if err != nil {
			return n, fmt.Errorf("workbench: redact: %w", err)
		}
		for _, o := range objs {
			var q SavedQuery
			if err := m.queries.getJSON(ctx, o.Key, &q); err != nil {
				return n, err
			}
			before, _ := json.Marshal(q)
			q.SQL, q.Name, q.Description = redact(q.SQL), redact(q.Name), redact(q.Description)
			for i, p := range q.Params {
				if s, ok := p.Default.(string); ok {
					q.Params[i].Default = redact(s)
				}
			}
			after, _ := json.Marshal(q)
			if string(before) == string(after) {
				continue
			}
			if err := m.queries.putJSON(ctx, o.Key, q); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
