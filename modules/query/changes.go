package query

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// A change view is the change feed of a dataset between two versions,
// spelled "<name>@<from>..<to>" (or "<name>@<from>.." up to the latest):
// the rows versions from+1 … to inserted, deleted or updated, each with
// _change (insert, delete, update_before, update_after) and _version
// (the version that made the change). Only the parts a version removed
// and added are read: the rows they share (a part rewritten by an upsert
// keeps most of its rows) cancel out, so the feed is exact whatever the
// mode (append, replace, upsert, delete, compaction, which changes
// nothing). A version whose dataset declares a key pairs a delete and an
// insert of one key as update_before / update_after; without a key a
// changed row is a delete and an insert.
var changeNameRe = regexp.MustCompile(`^(.+)@([0-9]+)\.\.([0-9]*)$`)

// parseChangeName splits a change view name; ok is false for any other.
func parseChangeName(viewName string) (name string, from, to int, ok bool) {
	if !strings.Contains(viewName, "..") {
		return "", 0, 0, false // the common case, without the regexp
	}
	m := changeNameRe.FindStringSubmatch(viewName)
	if m == nil {
		return "", 0, 0, false
	}
	from, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, 0, false
	}
	to = -1 // up to the latest
	if m[3] != "" {
		if to, err = strconv.Atoi(m[3]); err != nil {
			return "", 0, 0, false
		}
	}
	return m[1], from, to, true
}

// changeVersions returns the manifests from … to of a change view,
// checking the range: 404 for an unknown dataset, 400 for a range that
// is not one, 410 when retention removed a version in it, 409 when the
// schema changed inside it.
func (v *views) changeVersions(viewName string) ([]catalog.Manifest, error) {
	name, from, to, _ := parseChangeName(viewName)
	v.mu.Lock()
	defer v.mu.Unlock()
	known, ok := v.datasets[name]
	if !ok {
		return nil, kit.Errorf(http.StatusNotFound, "not_found", "dataset %q not found", name)
	}
	latest := v.latest[name]
	if to < 0 {
		to = latest
	}
	if from < 1 || to <= from || to > latest {
		return nil, kit.Errorf(http.StatusBadRequest, "bad_request",
			"%q: a change range is <from>..<to> with 1 ≤ from < to ≤ %d (the latest version)", viewName, latest)
	}
	ms := make([]catalog.Manifest, 0, to-from+1)
	for ver := from; ver <= to; ver++ {
		m, ok := known[ver]
		if !ok {
			kept := slices.Sorted(maps.Keys(known))
			return nil, kit.Errorf(http.StatusGone, "version_expired",
				"%q version %d expired under the dataset's retention, so changes from %d to %d cannot be read; versions %s remain",
				name, ver, from, to, catalog.FormatVersions(kept)).WithDetails(map[string]any{"dataset": name, "version": ver})
		}
		if len(ms) > 0 && m.SchemaFingerprint != ms[len(ms)-1].SchemaFingerprint {
			return nil, kit.Errorf(http.StatusConflict, "schema_changed",
				"%q changed its schema at version %d; read changes from %d on, or up to %d", name, ver, ver, ver-1)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// changeFiles lists, for each version after the first, the parts it
// removed and added.
func changeFiles(ms []catalog.Manifest) (removed, added [][]string) {
	for i := 1; i < len(ms); i++ {
		prev := map[string]bool{}
		for _, f := range ms[i-1].Files {
			prev[f.Key] = true
		}
		next := map[string]bool{}
		var add []string
		for _, f := range ms[i].Files {
			next[f.Key] = true
			if !prev[f.Key] {
				add = append(add, f.Key)
			}
		}
		var rem []string
		for _, f := range ms[i-1].Files {
			if !next[f.Key] {
				rem = append(rem, f.Key)
			}
		}
		removed, added = append(removed, rem), append(added, add)
	}
	return removed, added
}

// changeSelect is the SELECT behind a change view; path maps a part's
// key to the file DuckDB reads.
func changeSelect(ms []catalog.Manifest, path func(string) string) string {
	schema := ms[len(ms)-1].Schema
	cols := make([]string, len(schema))
	names := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), safeType(c.Type), quoteIdent(c.Name))
		names[i] = quoteIdent(c.Name)
	}
	rel := func(keys []string) string {
		if len(keys) == 0 {
			return "SELECT " + strings.Join(nullColumns(schema), ", ") + " WHERE false"
		}
		q := make([]string, len(keys))
		for i, k := range keys {
			q[i] = quoteString(path(k))
		}
		return "SELECT " + strings.Join(cols, ", ") + " FROM read_parquet([" + strings.Join(q, ", ") + "])"
	}
	removed, added := changeFiles(ms)
	var parts []string
	for i := range removed {
		m := ms[i+1]
		if len(removed[i]) == 0 && len(added[i]) == 0 {
			continue
		}
		o := fmt.Sprintf("(%s EXCEPT ALL %s)", rel(removed[i]), rel(added[i]))
		n := fmt.Sprintf("(%s EXCEPT ALL %s)", rel(added[i]), rel(removed[i]))
		ver := strconv.Itoa(m.Version)
		key := m.Key
		if len(key) == 0 || len(removed[i]) == 0 {
			parts = append(parts,
				fmt.Sprintf("SELECT 'delete' AS _change, %s AS _version, 3 AS _rank, * FROM %s", ver, o),
				fmt.Sprintf("SELECT 'insert' AS _change, %s AS _version, 4 AS _rank, * FROM %s", ver, n))
			continue
		}
		on := make([]string, len(key))
		for j, k := range key {
			on[j] = fmt.Sprintf("o.%s IS NOT DISTINCT FROM n.%s", quoteIdent(k), quoteIdent(k))
		}
		join := strings.Join(on, " AND ")
		parts = append(parts, fmt.Sprintf(`SELECT * FROM (WITH o AS %[1]s, n AS %[2]s
			SELECT 'delete' AS _change, %[3]s AS _version, 3 AS _rank, o.* FROM o ANTI JOIN n ON %[4]s
			UNION ALL SELECT 'update_before', %[3]s, 1, o.* FROM o SEMI JOIN n ON %[4]s
			UNION ALL SELECT 'update_after', %[3]s, 2, n.* FROM n SEMI JOIN o ON %[4]s
			UNION ALL SELECT 'insert', %[3]s, 4, n.* FROM n ANTI JOIN o ON %[4]s)`, o, n, ver, join))
	}
	if len(parts) == 0 {
		return "SELECT CAST(NULL AS VARCHAR) AS _change, CAST(NULL AS BIGINT) AS _version, " + strings.Join(nullColumns(schema), ", ") + " WHERE false"
	}
	order := "_version"
	if key := ms[len(ms)-1].Key; len(key) > 0 {
		order += ", " + strings.Join(quoteAll(key), ", ")
	}
	// Within a version, a key's update_before comes before its
	// update_after.
	return fmt.Sprintf("SELECT _change, _version::BIGINT AS _version, %s FROM (%s) ORDER BY %s, _rank",
		strings.Join(names, ", "), strings.Join(parts, "\nUNION ALL "), order)
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteIdent(n)
	}
	return out
}

// ensureChange builds (or rebuilds) a change view, pinning the parts it
// reads until release is called.
func (v *views) ensureChange(ctx context.Context, viewName string) (func(), error) {
	name, _, _, _ := parseChangeName(viewName)
	for attempt := 0; ; attempt++ {
		v.mu.Lock()
		latest := v.latest[name]
		v.mu.Unlock()
		ms, err := v.changeVersions(viewName)
		if err != nil {
			return func() {}, err
		}
		removed, added := changeFiles(ms)
		var keys []string
		for i := range removed {
			keys = append(keys, removed[i]...)
			keys = append(keys, added[i]...)
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		paths, release, err := v.src.Acquire(ctx, keys)
		if err != nil {
			return func() {}, fmt.Errorf("query: parts of %q: %w", viewName, err)
		}
		byKey := make(map[string]string, len(keys))
		for i, k := range keys {
			byKey[k] = paths[i]
		}
		def := changeSelect(ms, func(k string) string { return byKey[k] })
		v.mu.Lock()
		if v.latest[name] != latest {
			// The dataset changed while the parts were fetched: the view
			// would be built on versions the watcher already dropped.
			v.mu.Unlock()
			release()
			if attempt < 3 {
				continue
			}
			return func() {}, fmt.Errorf("query: %q keeps changing; try again", viewName)
		}
		if err := v.createViewLocked(ctx, viewName, def); err != nil {
			v.mu.Unlock()
			release()
			return func() {}, err
		}
		if v.changeViews[name] == nil {
			v.changeViews[name] = map[string]bool{}
		}
		v.changeViews[name][viewName] = true
		v.mu.Unlock()
		return release, nil
	}
}
