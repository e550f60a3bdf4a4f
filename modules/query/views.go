package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// views keeps one DuckDB view per dataset version: the latest as
// "<name>", every version as "<name>@<n>" (time travel). The registry is
// fed by the catalog (a full sync at start, then Watch), so a new version
// is visible to the very next query.
//
// With local storage every view is created eagerly (the parts are plain
// files). With S3 a view is created when a query first names it, after
// its parts are fetched into the read-through cache; the parts are pinned
// in the cache while the query runs.
type views struct {
	eng *Engine
	src partSource
	log *slog.Logger

	mu       sync.Mutex
	closed   bool                                // after close, catalog changes are ignored
	unwatch  func()                              // stops the catalog's notifications
	datasets map[string]map[int]catalog.Manifest // name → version → manifest
	latest   map[string]int
	created  map[string]string // view name → the SELECT it was created with
	// changeViews are the change views built, by dataset: any change of
	// the dataset drops them (rebuilt on next use), without scanning every
	// view a commit does not touch.
	changeViews map[string]map[string]bool
}

func newViews(eng *Engine, src partSource, log *slog.Logger) *views {
	return &views{
		eng: eng, src: src, log: log,
		datasets: map[string]map[int]catalog.Manifest{},
		latest:   map[string]int{},
		created:  map[string]string{},

		changeViews: map[string]map[string]bool{},
	}
}

// syncAll loads every live dataset and all of its versions.
func (v *views) syncAll(ctx context.Context, cat catalog.Catalog) error {
	list, err := cat.List(ctx)
	if err != nil {
		return fmt.Errorf("query: list datasets: %w", err)
	}
	for _, m := range list {
		if err := v.syncDataset(ctx, cat, m.Name); err != nil {
			v.log.Warn("query: dataset not queryable", "dataset", m.Name, "err", err)
		}
	}
	return nil
}

// syncDataset reloads one dataset's versions from the catalog.
func (v *views) syncDataset(ctx context.Context, cat catalog.Catalog, name string) error {
	ms, err := cat.Versions(ctx, name)
	if errors.Is(err, catalog.ErrNotFound) {
		return v.drop(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("query: versions of %q: %w", name, err)
	}
	return v.set(ctx, name, ms)
}

// onChange is the catalog watcher. It runs synchronously after the
// catalog's commit, so the views are current before the writer returns.
// The change carries the new version's manifest (or the versions gc
// pruned), so the registry is updated without asking the catalog again.
func (v *views) onChange(ch catalog.Change) {
	v.mu.Lock()
	closed := v.closed
	v.mu.Unlock()
	if closed {
		return
	}
	if err := v.apply(context.Background(), ch); err != nil {
		v.log.Warn("query: refresh views", "dataset", ch.Name, "err", err)
	}
}

// apply folds one catalog change into the registry: a new version is
// added to the ones known (changes may arrive out of order; the latest is
// the highest), pruned versions lose their views, a deleted dataset is
// dropped. Only the views the change touches are (re)created — the
// dataset's latest and the new version — so a commit costs the same
// whatever the number of versions kept.
func (v *views) apply(ctx context.Context, ch catalog.Change) error {
	if ch.Deleted {
		return v.drop(ctx, ch.Name)
	}
	if len(ch.Rewritten) > 0 {
		return v.rewritten(ctx, ch)
	}
	if ch.Manifest == nil && len(ch.Pruned) == 0 {
		return nil
	}
	v.mu.Lock()
	known := v.datasets[ch.Name]
	if known == nil {
		if ch.Manifest == nil {
			v.mu.Unlock()
			return nil // nothing this watcher knows about changed
		}
		known = map[int]catalog.Manifest{}
		v.datasets[ch.Name] = known
	}
	errs := v.dropChangesLocked(ctx, ch.Name, nil)
	for _, ver := range ch.Pruned {
		delete(known, ver)
		vn := versionName(ch.Name, ver)
		if _, ok := v.created[vn]; ok {
			if err := v.eng.execAdmin(ctx, "DROP VIEW IF EXISTS "+quoteIdent(vn)); err != nil {
				errs = append(errs, err)
			}
			delete(v.created, vn)
		}
	}
	names := []string{ch.Name}
	if ch.Manifest != nil {
		known[ch.Manifest.Version] = *ch.Manifest
		names = append(names, versionName(ch.Name, ch.Manifest.Version))
	}
	if len(known) == 0 {
		v.mu.Unlock()
		return errors.Join(append(errs, v.drop(ctx, ch.Name))...)
	}
	latest := 0
	for ver := range known {
		latest = max(latest, ver)
	}
	v.latest[ch.Name] = latest
	v.mu.Unlock()
	return v.ensureNow(ctx, names, errs)
}

// expired is the answer for "<name>@<N>" when the dataset is known but
// retention removed version N: 410 naming the versions that remain. nil
// for any other name.
func (v *views) expired(viewName string) error {
	i := strings.LastIndexByte(viewName, '@')
	if i <= 0 {
		return nil
	}
	ver, err := strconv.Atoi(viewName[i+1:])
	if err != nil || ver < 1 {
		return nil
	}
	name := viewName[:i]
	v.mu.Lock()
	defer v.mu.Unlock()
	known, ok := v.datasets[name]
	if !ok || ver >= v.latest[name] {
		return nil
	}
	if _, ok := known[ver]; ok {
		return nil
	}
	kept := slices.Sorted(maps.Keys(known))
	return kit.Errorf(http.StatusGone, "version_expired",
		"%q version %d expired under the dataset's retention; versions %s remain (GET /v1/catalog/retention/%s; a tag keeps a version: PUT /v1/catalog/tags/%s/<tag>)",
		name, ver, catalog.FormatVersions(kept), name, name).WithDetails(map[string]any{"dataset": name, "version": ver, "latest": v.latest[name]})
}

// close stops following the catalog.
func (v *views) close() {
	v.mu.Lock()
	v.closed = true
	unwatch := v.unwatch
	v.unwatch = nil
	v.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
}

// set replaces the registry entry for name and (when parts are local)
// creates or replaces its views.
func (v *views) set(ctx context.Context, name string, ms []catalog.Manifest) error {
	if len(ms) == 0 {
		return v.drop(ctx, name)
	}
	byVersion := make(map[int]catalog.Manifest, len(ms))
	latest := 0
	names := []string{name}
	for _, m := range ms {
		byVersion[m.Version] = m
		latest = max(latest, m.Version)
		names = append(names, versionName(name, m.Version))
	}
	v.mu.Lock()
	v.datasets[name] = byVersion
	v.latest[name] = latest
	// Versions the catalog no longer has (pruned) lose their views.
	errs := v.dropChangesLocked(ctx, name, nil)
	for vn := range v.created {
		if isVersionOf(vn, name) {
			if _, _, ok := v.resolveLocked(vn); !ok {
				if err := v.eng.execAdmin(ctx, "DROP VIEW IF EXISTS "+quoteIdent(vn)); err != nil {
					errs = append(errs, err)
				}
				delete(v.created, vn)
			}
		}
	}
	v.mu.Unlock()
	return v.ensureNow(ctx, names, errs)
}

// ensureNow creates or replaces the named views when parts are local,
// joining their errors to errs. With lazy parts (S3) views are built on
// next use; ensure compares definitions, so a view on an older latest is
// replaced then.
func (v *views) ensureNow(ctx context.Context, names []string, errs []error) error {
	if v.src.Lazy() {
		return errors.Join(errs...)
	}
	for _, vn := range names {
		release, err := v.ensureOne(ctx, vn)
		release()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dropChangesLocked drops name's change views ("name@3..5", "name@3.."):
// the next query naming one builds it on the versions as they are then.
// v.mu is held; errors are added to errs.
func (v *views) dropChangesLocked(ctx context.Context, name string, errs []error) []error {
	for vn := range v.changeViews[name] {
		if err := v.eng.execAdmin(ctx, "DROP VIEW IF EXISTS "+quoteIdent(vn)); err != nil {
			errs = append(errs, err)
		}
		delete(v.created, vn)
	}
	delete(v.changeViews, name)
	return errs
}

// drop removes a dataset and all of its views.
func (v *views) drop(ctx context.Context, name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	errs := v.dropChangesLocked(ctx, name, nil)
	for vn := range v.created {
		if vn == name || isVersionOf(vn, name) {
			if err := v.eng.execAdmin(ctx, "DROP VIEW IF EXISTS "+quoteIdent(vn)); err != nil {
				errs = append(errs, err)
			}
			delete(v.created, vn)
		}
	}
	delete(v.datasets, name)
	delete(v.latest, name)
	return errors.Join(errs...)
}

// isVersionOf reports whether viewName is "<name>@<digits>".
func isVersionOf(viewName, name string) bool {
	rest, ok := strings.CutPrefix(viewName, name+"@")
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

// versionName is the time-travel view name of one version.
func versionName(name string, version int) string { return name + "@" + strconv.Itoa(version) }

// resolveLocked maps a view name to its dataset manifest.
func (v *views) resolveLocked(viewName string) (catalog.Manifest, string, bool) {
	if vs, ok := v.datasets[viewName]; ok {
		m, ok := vs[v.latest[viewName]]
		return m, viewName, ok
	}
	i := strings.LastIndexByte(viewName, '@')
	if i <= 0 {
		return catalog.Manifest{}, "", false
	}
	ver, err := strconv.Atoi(viewName[i+1:])
	if err != nil || viewName[i+1:] != strconv.Itoa(ver) {
		return catalog.Manifest{}, "", false
	}
	m, ok := v.datasets[viewName[:i]][ver]
	return m, viewName, ok
}

// ensure makes sure the named views exist and their parts are readable,
// pinning cached parts until release is called. Names that are not
// datasets are ignored (DuckDB reports them as unknown tables).
func (v *views) ensure(ctx context.Context, names []string) (release func(), err error) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	names = slices.Clone(names)
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		if err := v.expired(n); err != nil {
			release()
			return func() {}, err
		}
		r, err := v.ensureOne(ctx, n)
		if err != nil {
			release()
			return func() {}, err
		}
		releases = append(releases, r)
	}
	return release, nil
}

// ensureOne fetches (pins) a view's parts without holding the lock, so a
// slow S3 download does not stall other queries or the catalog watcher,
// then creates or replaces the view if its definition changed. If the
// dataset changed meanwhile, it starts over.
func (v *views) ensureOne(ctx context.Context, viewName string) (func(), error) {
	if name, _, _, ok := parseChangeName(viewName); ok {
		v.mu.Lock()
		_, known := v.datasets[name]
		v.mu.Unlock()
		if !known {
			return func() {}, nil // DuckDB reports the unknown table
		}
		return v.ensureChange(ctx, viewName)
	}
	for attempt := 0; ; attempt++ {
		v.mu.Lock()
		m, _, ok := v.resolveLocked(viewName)
		v.mu.Unlock()
		if !ok {
			return func() {}, nil
		}
		keys := make([]string, len(m.Files))
		for i, f := range m.Files {
			keys[i] = f.Key
		}
		paths, release, err := v.src.Acquire(ctx, keys)
		if err != nil {
			return func() {}, fmt.Errorf("query: parts of %q: %w", viewName, err)
		}
		def := viewSelect(m, paths)
		v.mu.Lock()
		now, _, ok := v.resolveLocked(viewName)
		if !ok || now.Version != m.Version {
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
		v.mu.Unlock()
		return release, nil
	}
}

// viewSelect is the SELECT behind a view: the version's Parquet parts, or
// an empty typed relation when the version has no parts.
func viewSelect(m catalog.Manifest, paths []string) string {
	if len(paths) == 0 {
		if len(m.Schema) == 0 {
			return "SELECT 1 AS empty WHERE false"
		}
		return "SELECT " + strings.Join(nullColumns(m.Schema), ", ") + " WHERE false"
	}
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quoteString(p)
	}
	return "SELECT * FROM read_parquet([" + strings.Join(q, ", ") + "])"
}

// nullColumns is schema as typed NULLs ("CAST(NULL AS T) AS name"), the
// columns of an empty relation of that schema.
func nullColumns(schema []catalog.Column) []string {
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = "CAST(NULL AS " + safeType(c.Type) + ") AS " + quoteIdent(c.Name)
	}
	return cols
}

// createViewLocked creates or replaces view viewName as def unless it
// already is (v.mu held).
func (v *views) createViewLocked(ctx context.Context, viewName, def string) error {
	if v.created[viewName] == def {
		return nil
	}
	if err := v.eng.execAdmin(ctx, "CREATE OR REPLACE VIEW "+quoteIdent(viewName)+" AS "+def); err != nil {
		return fmt.Errorf("query: create view %q: %w", viewName, err)
	}
	v.created[viewName] = def
	return nil
}

// safeType passes a catalog type name through only when it looks like a
// DuckDB type (it is spliced into a CAST).
func safeType(t string) string {
	if t == "" {
		return "VARCHAR"
	}
	for _, r := range t {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(" _(),[]", r)) {
			return "VARCHAR"
		}
	}
	return t
}

// known reports whether viewName is a dataset or one of its versions.
func (v *views) known(viewName string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if name, _, _, ok := parseChangeName(viewName); ok {
		_, known := v.datasets[name]
		return known
	}
	_, _, ok := v.resolveLocked(viewName)
	return ok
}

// names lists every dataset view name (latest and versions), sorted.
func (v *views) names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for n, vs := range v.datasets {
		out = append(out, n)
		for ver := range vs {
			out = append(out, versionName(n, ver))
		}
	}
	slices.Sort(out)
	return out
}

// isDataset reports whether name is a dataset the catalog knows (whether
// or not its view is built yet).
func (v *views) isDataset(name string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.datasets[name]
	return ok
}

// rewritten reloads the views of versions whose files erasure replaced:
// the same version numbers, built again on the new parts (and the
// change views over the dataset dropped, as for any change).
func (v *views) rewritten(ctx context.Context, ch catalog.Change) error {
	v.mu.Lock()
	known := v.datasets[ch.Name]
	if known == nil {
		v.mu.Unlock()
		return nil
	}
	errs := v.dropChangesLocked(ctx, ch.Name, nil)
	names := []string{ch.Name}
	for _, m := range ch.Rewritten {
		if _, ok := known[m.Version]; !ok {
			continue
		}
		known[m.Version] = m
		names = append(names, versionName(ch.Name, m.Version))
	}
	v.mu.Unlock()
	return v.ensureNow(ctx, names, errs)
}
