package erasure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/indexer"
	"lakehouse/modules/kit"
	"lakehouse/modules/observer"
	"lakehouse/modules/pathway"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector"
	"lakehouse/modules/workbench"
)

// Module is the erasure module: POST /v1/erasure and its jobs.
type Module struct {
	objects storage.Store
	cat     historyCatalog
	vs      vector.Service
	forget  indexer.RowForgetter
	purger  pathway.Purger
	redact  observer.Redactor
	texts   workbench.TextRedactor
	embeds  embed.CachePurger
	rec     observer.Recorder
	audit   string // the observer's dataset (config observer.dataset)
	log     *slog.Logger
	tmp     string
	// scrub keeps the server's paths out of a failed job's saved error
	// (GET /v1/erasure/<id> shows it).
	scrub kit.PathScrubber

	// mu serialises jobs: one erasure at a time (each rewrites history).
	mu     sync.Mutex
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	// snaps holds each job's last saved state (jobsMu), which GET
	// answers while the job's goroutine goes on changing the job.
	snaps  map[string][]byte
	jobsMu sync.Mutex
}

// New returns the erasure module.
func New() *Module { return &Module{snaps: map[string][]byte{}} }

// Name implements kit.Module.
func (*Module) Name() string { return "erasure" }

// Deps implements kit.Module.
func (*Module) Deps() []string { return []string{"storage", "catalog"} }

// OptionalDeps implements kit.OptionalDepender: indexes are erased when
// the vector module runs, the receipt is audited when the observer does.
func (*Module) OptionalDeps() []string {
	return []string{"vector", "indexer", "pathway", "observer", "workbench", "embed"}
}

// Init implements kit.Module.
func (m *Module) Init(_ context.Context, c *kit.Container) error {
	objects, err := kit.Resolve[storage.Store](c)
	if err != nil {
		return err
	}
	cat, err := kit.Resolve[catalog.Catalog](c)
	if err != nil {
		return err
	}
	hc, ok := cat.(historyCatalog)
	if !ok {
		return errors.New("erasure: the catalog cannot rewrite history")
	}
	m.objects, m.cat = objects, hc
	m.vs, _ = kit.Lookup[vector.Service](c)
	m.forget, _ = kit.Lookup[indexer.RowForgetter](c)
	if ps, ok := kit.Lookup[pathway.Store](c); ok {
		m.purger, _ = ps.(pathway.Purger)
	}
	m.rec, _ = kit.Lookup[observer.Recorder](c)
	m.redact, _ = kit.Lookup[observer.Redactor](c)
	m.texts, _ = kit.Lookup[workbench.TextRedactor](c)
	m.embeds, _ = kit.Lookup[embed.CachePurger](c)
	m.audit = c.Config().Observer.Dataset
	m.log = c.Logger("erasure")
	m.tmp = filepath.Join(c.Config().DataDir, "tmp", "erasure")
	m.scrub = kit.NewPathScrubber(c.Config().DataDir)
	return nil
}

// Start implements kit.Starter: jobs a crash (or a failure) left
// unfinished run again.
func (m *Module) Start(ctx context.Context) error {
	m.ctx, m.cancel = context.WithCancel(context.Background())
	jobs, err := m.list(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Status != "done" && j.Request != nil {
			m.log.Warn("erasure: resuming an unfinished job", "job", j.ID, "phase", j.Phase)
			m.launch(j)
		}
	}
	return nil
}

// Stop implements kit.Stopper: a running job is cancelled (it resumes at
// the next start) and waited for.
func (m *Module) Stop(context.Context) error {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	return nil
}

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	g.POST("", m.handleStart)
	g.GET("", m.handleList)
	g.GET("/:id", m.handleGet)
}

// RoutePerms implements kit.Permissioned: erasure is an admin's.
func (m *Module) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{
		"POST ":    kit.Need(kit.RoleAdmin),
		"GET ":     kit.Need(kit.RoleAdmin),
		"GET /:id": kit.Need(kit.RoleAdmin),
	}
}

// RouteDocs implements kit.Documented.
func (m *Module) RouteDocs() map[string]kit.RouteDoc {
	return map[string]kit.RouteDoc{
		"POST ":    {Summary: "erase a person everywhere: every version, Iceberg, vector items (202 with the job; ?wait=true waits for it)", Request: Request{}, Response: Job{}, Status: http.StatusAccepted},
		"GET ":     {Summary: "the erasure jobs, newest first (values never shown)"},
		"GET /:id": {Summary: "one erasure job: progress, then its receipt", Response: Job{}},
	}
}

func (m *Module) handleStart(c echo.Context) error {
	var req Request
	if err := kit.DecodeJSON(c.Request().Body, &req); err != nil {
		return err
	}
	only, err := req.normalized()
	if err != nil {
		return err
	}
	for _, n := range only {
		if _, err := m.cat.Get(c.Request().Context(), n); err != nil {
			return kit.NotFound("dataset %q not found", n)
		}
	}
	now := time.Now().UTC()
	j := &Job{ID: newID(now), By: kit.PrincipalName(c), CreatedAt: now, UpdatedAt: now, Status: "running", Phase: "queued",
		Request: &req, Only: only}
	if err := m.save(j); err != nil {
		return err
	}
	kit.AuditNote(c, "job", j.ID) // the receipt the Activity page links to
	done := m.launch(j)
	if c.QueryParam("wait") == "true" {
		select {
		case <-done:
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		}
		return c.JSON(http.StatusOK, m.view(j.ID))
	}
	return c.JSON(http.StatusAccepted, m.view(j.ID))
}

func (m *Module) handleList(c echo.Context) error {
	jobs, err := m.list(c.Request().Context())
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.Request = nil
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": jobs, "count": len(jobs)})
}

func (m *Module) handleGet(c echo.Context) error {
	id := c.Param("id")
	if !validID(id) {
		return kit.NotFound("no erasure job %q", id)
	}
	if j := m.view(id); j != nil {
		return c.JSON(http.StatusOK, j)
	}
	var j Job
	if err := m.load(c.Request().Context(), id, &j); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return kit.NotFound("no erasure job %q", id)
		}
		return err
	}
	j.Request = nil
	return c.JSON(http.StatusOK, &j)
}

// view is a job's last saved state, without its values (nil when this
// process has not run it).
func (m *Module) view(id string) *Job {
	m.jobsMu.Lock()
	b, ok := m.snaps[id]
	m.jobsMu.Unlock()
	if !ok {
		return nil
	}
	var out Job
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	out.Request = nil
	return &out
}

// launch runs j in the background (one job at a time); the channel
// closes when it ends.
func (m *Module) launch(j *Job) <-chan struct{} {
	done := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.execute(j)
	}()
	return done
}

// execute runs a job to its end or to its first error (saved; the job
// is retried at the next start).
func (m *Module) execute(j *Job) {
	ctx := m.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	d, err := openDuck(ctx, filepath.Join(m.tmp, j.ID))
	if err == nil {
		defer d.Close()
		r := &runner{job: j, req: j.Request, objects: m.objects, cat: m.cat, vs: m.vs, forget: m.forget, purger: m.purger, redact: m.redact, texts: m.texts, embeds: m.embeds, auditDataset: m.audit, duck: d, log: m.log, save: m.save}
		err = r.run(ctx)
	}
	m.jobsMu.Lock()
	defer m.jobsMu.Unlock()
	if err != nil {
		j.Status, j.Error = "failed", m.scrub.Text(err.Error())
		m.log.Error("erasure: job failed; it resumes at the next start", "job", j.ID, "phase", j.Phase, "err", err)
		_ = m.saveLocked(j)
		return
	}
	j.Status, j.Phase, j.Error = "done", "done", ""
	j.Receipt = j.receipt(time.Now())
	j.Request = nil // the values leave storage with the job's end
	if err := m.saveLocked(j); err != nil {
		m.log.Error("erasure: save the receipt", "job", j.ID, "err", err)
	}
	if m.rec != nil {
		m.rec.Record(observer.Event{Source: "erasure", Endpoint: "erasure", Success: true, Principal: j.By, Module: "erasure",
			Fields: map[string]any{"job": j.ID, "receipt": j.Receipt}})
	}
	m.log.Info("erasure: done", "job", j.ID, "rows", j.Receipt.RowsErased, "parts", j.Receipt.PartsRewritten+j.Receipt.PartsDropped,
		"versions", j.Receipt.VersionsRewritten, "items", j.Receipt.ItemsDeleted)
}

func (m *Module) save(j *Job) error {
	m.jobsMu.Lock()
	defer m.jobsMu.Unlock()
	return m.saveLocked(j)
}

func (m *Module) saveLocked(j *Job) error {
	j.UpdatedAt = time.Now().UTC()
	b, err := marshalJob(j)
	if err != nil {
		return err
	}
	if _, err := m.objects.Put(context.Background(), jobKey(j.ID), bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("erasure: save job %s: %w", j.ID, err)
	}
	m.snaps[j.ID] = b
	return nil
}

func (m *Module) load(ctx context.Context, id string, j *Job) error {
	rc, _, err := m.objects.Get(ctx, jobKey(id))
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(j); err != nil {
		return fmt.Errorf("erasure: job %s: %w", id, err)
	}
	return nil
}

// list reads every saved job, newest first.
func (m *Module) list(ctx context.Context) ([]*Job, error) {
	var out []*Job
	err := storage.Each(ctx, m.objects, jobsPrefix, func(o storage.ObjectInfo) error {
		id := strings.TrimSuffix(strings.TrimPrefix(o.Key, jobsPrefix), ".json")
		var j Job
		if err := m.load(ctx, id, &j); err != nil {
			m.log.Warn("erasure: unreadable job state", "key", o.Key, "err", err)
			return nil
		}
		out = append(out, &j)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("erasure: jobs: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// newID is sortable by time: the list is newest first by reversing keys.
func newID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}
