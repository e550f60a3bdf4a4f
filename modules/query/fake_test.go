package query

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/app"
	"lakehouse/config"
	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// fakeCatalog is an in-memory catalog.Catalog for unit tests; watchers run
// synchronously after each change, like the real one.
type fakeCatalog struct {
	mu       sync.Mutex
	versions map[string][]catalog.Manifest
	deleted  map[string]bool
	watchers []func(catalog.Change) // nil entries unsubscribed
	// versionCalls counts Versions calls: watchers must not need them.
	versionCalls int
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{versions: map[string][]catalog.Manifest{}, deleted: map[string]bool{}}
}

func (f *fakeCatalog) Register(_ context.Context, req catalog.RegisterRequest) (catalog.Manifest, bool, error) {
	f.mu.Lock()
	vs := f.versions[req.Name]
	m := catalog.Manifest{Name: req.Name, Version: len(vs) + 1, Schema: req.Schema, Files: req.Files, RowCount: req.RowCount}
	f.versions[req.Name] = append(vs, m)
	delete(f.deleted, req.Name)
	ws := slices.Clone(f.watchers)
	f.mu.Unlock()
	for _, w := range ws {
		if w != nil {
			w(catalog.Change{Name: m.Name, Version: m.Version, Manifest: &m})
		}
	}
	return m, false, nil
}

func (f *fakeCatalog) Get(_ context.Context, name string) (catalog.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[name]
	if len(vs) == 0 || f.deleted[name] {
		return catalog.Manifest{}, catalog.ErrNotFound
	}
	return vs[len(vs)-1], nil
}

func (f *fakeCatalog) GetVersion(_ context.Context, name string, v int) (catalog.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[name]
	if v < 1 || v > len(vs) || f.deleted[name] {
		return catalog.Manifest{}, catalog.ErrNotFound
	}
	return vs[v-1], nil
}

func (f *fakeCatalog) Versions(_ context.Context, name string) ([]catalog.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versionCalls++
	if len(f.versions[name]) == 0 || f.deleted[name] {
		return nil, catalog.ErrNotFound
	}
	return slices.Clone(f.versions[name]), nil
}

func (f *fakeCatalog) List(_ context.Context) ([]catalog.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []catalog.Manifest
	for n, vs := range f.versions {
		if !f.deleted[n] {
			out = append(out, vs[len(vs)-1])
		}
	}
	return out, nil
}

func (f *fakeCatalog) Delete(_ context.Context, name string) error {
	f.mu.Lock()
	f.deleted[name] = true
	ws := slices.Clone(f.watchers)
	f.mu.Unlock()
	for _, w := range ws {
		if w != nil {
			w(catalog.Change{Name: name, Deleted: true})
		}
	}
	return nil
}

func (f *fakeCatalog) Prepare(_ context.Context, name string) (*catalog.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if vs := f.versions[name]; len(vs) > 0 && !f.deleted[name] {
		m := vs[len(vs)-1]
		return &m, nil
	}
	return nil, nil
}

func (f *fakeCatalog) Watch(fn func(catalog.Change)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.watchers)
	f.watchers = append(f.watchers, fn)
	return func() {
		f.mu.Lock()
		f.watchers[i] = nil
		f.mu.Unlock()
	}
}

// prune drops the oldest versions of name, as catalog gc does, and tells
// the watchers.
func (f *fakeCatalog) prune(name string, n int) {
	f.mu.Lock()
	var pruned []int
	for _, m := range f.versions[name][:n] {
		pruned = append(pruned, m.Version)
	}
	f.versions[name] = f.versions[name][n:]
	ws := slices.Clone(f.watchers)
	f.mu.Unlock()
	for _, w := range ws {
		if w != nil {
			w(catalog.Change{Name: name, Pruned: pruned})
		}
	}
}

// fixtureDB writes Parquet fixtures with a plain (unlocked) DuckDB.
var (
	fixtureOnce sync.Once
	fixtureDB   *sql.DB
)

// writeParquet runs COPY (selectSQL) TO a temp file, stores it under key
// and registers nothing (see addDataset).
func writeParquet(t testing.TB, store storage.Store, key, selectSQL string) catalog.File {
	t.Helper()
	fixtureOnce.Do(func() {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			panic(err)
		}
		fixtureDB = db
	})
	tmp := filepath.Join(t.TempDir(), "part.parquet")
	if _, err := fixtureDB.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", selectSQL, quoteString(tmp))); err != nil {
		t.Fatalf("write fixture: %v", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if _, err := store.Put(context.Background(), key, f, st.Size()); err != nil {
		t.Fatalf("put fixture: %v", err)
	}
	return catalog.File{Key: key, Bytes: st.Size()}
}

// addDataset writes one Parquet part per query and registers a version.
func addDataset(t testing.TB, cat catalog.Catalog, store storage.Store, name string, parts ...string) catalog.Manifest {
	t.Helper()
	var files []catalog.File
	for i, p := range parts {
		key := fmt.Sprintf("datasets/%s/%d-%d-%d.parquet", name, time.Now().UnixNano(), i, len(p))
		files = append(files, writeParquet(t, store, key, p))
	}
	m, _, err := cat.Register(context.Background(), catalog.RegisterRequest{Name: name, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// harness is a query module behind the real app server (auth gate, error
// handler, body limits) with a fake catalog and a real local store.
type harness struct {
	t     testing.TB
	cat   *fakeCatalog
	store storage.Store
	mod   *Module
	url   string
	cfg   *config.Config
}

type provideModule struct {
	name string
	init func(c *kit.Container)
}

func (p provideModule) Name() string   { return p.name }
func (p provideModule) Deps() []string { return nil }
func (p provideModule) Init(_ context.Context, c *kit.Container) error {
	p.init(c)
	return nil
}

// newHarness boots the query module over store (local when nil).
func newHarness(t testing.TB, store storage.Store, edit ...func(*config.Config)) *harness {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Query.Threads = 2
	for _, e := range edit {
		e(cfg)
	}
	if store == nil {
		l, err := storage.OpenLocal(filepath.Join(cfg.DataDir, "objects"))
		if err != nil {
			t.Fatal(err)
		}
		store = l
	}
	cat := newFakeCatalog()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("LAKEHOUSE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c := kit.NewContainer(cfg, log)
	mod := New()
	must(t, c.Register(
		provideModule{"storage", func(c *kit.Container) { kit.Provide[storage.Store](c, store) }},
		provideModule{"catalog", func(c *kit.Container) { kit.Provide[catalog.Catalog](c, cat) }},
		mod,
	))
	plan, err := c.Plan([]string{"query"})
	must(t, err)
	must(t, c.Init(context.Background(), plan))
	srv, err := app.NewServer(c, []string{"query"})
	must(t, err)
	hs := httptest.NewServer(srv.Echo)
	t.Cleanup(func() {
		hs.Close()
		_ = c.Stop(context.Background())
	})
	return &harness{t: t, cat: cat, store: store, mod: mod, url: hs.URL, cfg: cfg}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// post sends a JSON body to /v1/sql and returns status, content type, body.
func (h *harness) post(body string) (int, string, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.url+"/v1/sql", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

func mustLocal(t testing.TB, dir string) *storage.Local {
	t.Helper()
	l, err := storage.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
