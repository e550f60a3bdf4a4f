package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/indexer"
	"lakehouse/modules/observer"
	"lakehouse/modules/pathway"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector"
	"lakehouse/modules/workbench"
)

// jobsPrefix is where job states live in storage: with an object store
// they survive the loss of the node's disk, and a job resumes anywhere.
const jobsPrefix = "_erasure/jobs/"

func jobKey(id string) string { return jobsPrefix + id + ".json" }

// Job is one erasure: its request (held only while it runs), its progress
// and, once done, its receipt.
type Job struct {
	ID        string    `json:"id"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Status is running, done or failed (a failed job is retried at the
	// next start, as is one a crash interrupted).
	Status string `json:"status"`
	Phase  string `json:"phase"`
	Error  string `json:"error,omitempty"`
	// Request is the match; it holds the values being erased, so it is
	// dropped from the saved job the moment the job is done.
	Request *Request `json:"request,omitempty"`
	// Only limits the job to these datasets (nil: every dataset).
	Only     []string           `json:"datasets,omitempty"`
	Datasets []*DatasetProgress `json:"progress"`
	Orphans  *OrphanProgress    `json:"orphans,omitempty"`
	Indexes  []IndexProgress    `json:"indexes,omitempty"`
	// TracesForgotten counts the pathway traces removed.
	TracesForgotten int `json:"traces_forgotten"`
	// EventsRedacted counts observer events whose text was redacted.
	EventsRedacted int `json:"events_redacted"`
	// QueriesRedacted counts saved-query versions whose text was redacted.
	QueriesRedacted int      `json:"saved_queries_redacted"`
	Receipt         *Receipt `json:"receipt,omitempty"`
}

// DatasetProgress is one dataset's part of a job.
type DatasetProgress struct {
	Name         string `json:"name"`
	Done         bool   `json:"done"`
	PartsScanned int    `json:"parts_scanned"`
	RowsErased   int64  `json:"rows_erased"`
	// Rewrites maps each old part to its rewrite (null: no row left). It
	// is saved before the catalog is changed, so a rerun applies the same
	// replacements instead of scanning parts that no longer exist.
	Rewrites map[string]*catalog.File `json:"rewrites,omitempty"`
	Versions []int                    `json:"versions_rewritten,omitempty"`
}

// OrphanProgress counts parts no retained version names (compacted or
// expired parts in their grace period, deleted datasets' parts) that
// held a match and were deleted.
type OrphanProgress struct {
	Done    bool `json:"done"`
	Scanned int  `json:"scanned"`
	Deleted int  `json:"deleted"`
}

// IndexProgress is one vector index's part of a job.
type IndexProgress struct {
	Name         string `json:"name"`
	ItemsDeleted int    `json:"items_deleted"`
}

// Receipt is what a finished job leaves in the audit trail: what was
// rewritten and how much, by whom and when — never the values.
type Receipt struct {
	Datasets          int       `json:"datasets_changed"`
	VersionsRewritten int       `json:"versions_rewritten"`
	PartsRewritten    int       `json:"parts_rewritten"`
	PartsDropped      int       `json:"parts_dropped"`
	OrphansDeleted    int       `json:"orphan_parts_deleted"`
	RowsErased        int64     `json:"rows_erased"`
	ItemsDeleted      int       `json:"vector_items_deleted"`
	TracesForgotten   int       `json:"traces_forgotten"`
	EventsRedacted    int       `json:"events_redacted"`
	QueriesRedacted   int       `json:"saved_queries_redacted"`
	FinishedAt        time.Time `json:"finished_at"`
}

// runner runs one job.
type runner struct {
	job     *Job
	req     *Request
	objects storage.Store
	cat     historyCatalog
	vs      vector.Service
	forget  indexer.RowForgetter
	purger  pathway.Purger
	redact  observer.Redactor
	texts   workbench.TextRedactor
	embeds  embed.CachePurger
	// auditDataset is the observer's dataset: redacted, not deleted from.
	auditDataset string
	duck         *duck
	log          *slog.Logger
	save         func(*Job) error
}

// historyCatalog is what erasure needs of the catalog beyond its
// interface: every version's parts, and rewriting them in place.
type historyCatalog interface {
	catalog.Catalog
	PartsOf(ctx context.Context, name string) (map[string][]int, error)
	RequestScrub() error
	RewriteHistory(ctx context.Context, name string, repl map[string]*catalog.File) (catalog.HistoryRewrite, error)
}

// run does what the job has not done yet; every step is saved before
// the next, and each is safe to repeat.
func (j *runner) run(ctx context.Context) error {
	if err := j.planDatasets(ctx); err != nil {
		return err
	}
	// Saved queries and events first: the observer publishes its dataset
	// from the events, so a publication after this carries redacted ones.
	if err := j.savedQueries(ctx); err != nil {
		return err
	}
	if err := j.events(ctx); err != nil {
		return err
	}
	for _, d := range j.job.Datasets {
		if d.Done {
			continue
		}
		if err := j.dataset(ctx, d); err != nil {
			return err
		}
	}
	for _, d := range j.job.Datasets {
		if len(d.Rewrites) > 0 {
			// The metadata database's freed blocks may hold the old
			// manifests: the next start rewrites it into a fresh file.
			if err := j.cat.RequestScrub(); err != nil {
				return err
			}
			break
		}
	}
	if err := j.orphans(ctx); err != nil {
		return err
	}
	if err := j.traces(ctx); err != nil {
		return err
	}
	if err := j.vectors(ctx); err != nil {
		return err
	}
	// Cached embeddings are derived from texts, the person's among them:
	// the whole cache goes (it is only a cache).
	if j.embeds != nil {
		j.job.Phase = "embedding cache"
		if err := j.embeds.PurgeCache(); err != nil {
			return err
		}
	}
	return nil
}

// events redacts the observer's events and audit rows (ring and
// segments): the rows stay, the values go.
func (j *runner) events(ctx context.Context) error {
	if j.redact == nil || j.job.Only != nil {
		return nil // events belong to no dataset: only an erasure of "all" reaches them
	}
	j.job.Phase = "events"
	n, err := j.redact.Redact(ctx, j.req.redactText)
	if err != nil {
		return err
	}
	j.job.EventsRedacted = max(j.job.EventsRedacted, n) // a resumed step finds less
	return j.save(j.job)
}

// savedQueries redacts the workbench's saved queries and every version
// their history keeps (SQL text, names, descriptions, defaults).
func (j *runner) savedQueries(ctx context.Context) error {
	if j.texts == nil || j.job.Only != nil {
		return nil // saved SQL belongs to no dataset: only an erasure of "all" reaches it
	}
	j.job.Phase = "saved queries"
	n, err := j.texts.RedactText(ctx, j.req.redactText)
	if err != nil {
		return err
	}
	j.job.QueriesRedacted = max(j.job.QueriesRedacted, n)
	return j.save(j.job)
}

// traces forgets the pathway traces holding a match (their history's
// records too: the log is compacted without them).
func (j *runner) traces(ctx context.Context) error {
	if j.purger == nil || j.job.Only != nil {
		return nil // traces belong to no dataset: only an erasure of "all" reaches them
	}
	j.job.Phase = "pathway traces"
	n, err := j.purger.Purge(ctx, func(t *pathway.Trace) bool {
		return j.req.matchesItem(t.UID, string(t.Content)+" "+strings.Join(t.Tags, " "), nil)
	})
	if err != nil {
		return err
	}
	j.job.TracesForgotten = max(j.job.TracesForgotten, n)
	return j.save(j.job)
}

// planDatasets lists the datasets the job covers, once.
func (j *runner) planDatasets(ctx context.Context) error {
	if j.job.Datasets != nil {
		return nil
	}
	j.job.Phase = "plan"
	ms, err := j.cat.List(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, m := range ms {
		live[m.Name] = true
	}
	names := j.job.Only
	if names == nil {
		for n := range live {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	j.job.Datasets = []*DatasetProgress{}
	for _, n := range names {
		if !live[n] {
			return fmt.Errorf("erasure: dataset %q not found", n)
		}
		j.job.Datasets = append(j.job.Datasets, &DatasetProgress{Name: n})
	}
	return j.save(j.job)
}

// dataset rewrites one dataset's history: scan every part of every
// retained version, save the replacements, apply them to every version,
// delete the old parts.
func (j *runner) dataset(ctx context.Context, d *DatasetProgress) error {
	j.job.Phase = "dataset " + d.Name
	if d.Rewrites == nil {
		parts, err := j.cat.PartsOf(ctx, d.Name)
		if err != nil {
			return err
		}
		keyCol := ""
		if m, err := j.cat.Get(ctx, d.Name); err == nil && len(m.Key) > 0 {
			keyCol = m.Key[0]
		}
		keys := make([]string, 0, len(parts))
		for k := range parts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		rewrites := map[string]*catalog.File{}
		for _, k := range keys {
			res, err := j.scanPart(ctx, d.Name, k, keyCol, d.Name == j.auditDataset)
			if err != nil {
				return err
			}
			d.PartsScanned++
			if res.matched > 0 {
				rewrites[k] = res.file
				d.RowsErased += res.matched
			}
		}
		d.Rewrites = rewrites
		if err := j.save(j.job); err != nil {
			return err
		}
		afterStep("rewrites-saved")
	}
	if len(d.Rewrites) > 0 {
		rep, err := j.cat.RewriteHistory(ctx, d.Name, d.Rewrites)
		if err != nil {
			return err
		}
		if len(rep.Versions) > 0 {
			d.Versions = rep.Versions
		}
		afterStep("history-rewritten")
		for old := range d.Rewrites {
			// The part's key filter goes with it: it answers "might this
			// key be here" for the erased rows' keys too.
			for _, k := range []string{catalog.KeyFilterObject(old), old} {
				if err := j.objects.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("erasure: delete %s: %w", k, err)
				}
			}
		}
	}
	d.Done = true
	return j.save(j.job)
}

// orphans deletes every part object no retained version names that holds
// a match: compacted or expired parts still in their grace period, and
// the parts of deleted datasets.
func (j *runner) orphans(ctx context.Context) error {
	if j.job.Orphans != nil && j.job.Orphans.Done {
		return nil
	}
	j.job.Phase = "unreferenced parts"
	o := &OrphanProgress{}
	j.job.Orphans = o
	referenced := map[string]bool{}
	ms, err := j.cat.List(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		parts, err := j.cat.PartsOf(ctx, m.Name)
		if err != nil {
			return err
		}
		for k := range parts {
			referenced[k] = true
		}
	}
	// Collected first: deleting while listing could make an object
	// store's cursor skip keys.
	objs, err := storage.ListAll(ctx, j.objects, catalog.DataPrefix)
	if err != nil {
		return fmt.Errorf("erasure: parts: %w", err)
	}
	for _, obj := range objs {
		if part, ok := strings.CutSuffix(obj.Key, catalog.KeyFilterSuffix); ok && !referenced[part] {
			// An unreferenced part's key filter: deleted whatever the part
			// held (it cannot be read for the person, and is cheap to lose).
			if err := j.objects.Delete(ctx, obj.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("erasure: delete %s: %w", obj.Key, err)
			}
			continue
		}
		if referenced[obj.Key] || !strings.HasSuffix(obj.Key, ".parquet") {
			continue
		}
		dataset, _, _ := strings.Cut(strings.TrimPrefix(obj.Key, catalog.DataPrefix), "/")
		if j.job.Only != nil && !slices.Contains(j.job.Only, dataset) {
			continue
		}
		local, cleanup, err := j.localCopy(ctx, obj.Key)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted meanwhile (gc)
			}
			return err
		}
		cols, err := j.duck.columns(ctx, local)
		var matched int64
		if err == nil {
			if pred, args := j.req.predicate(cols); pred != "" {
				matched, err = j.duck.count(ctx, local, pred, args)
			}
		}
		cleanup()
		if err != nil {
			j.log.Warn("erasure: an unreferenced part could not be read; it is deleted", "key", obj.Key, "err", err)
			matched = 1 // unreadable and unused: deleting it is the safe side
		}
		o.Scanned++
		if matched > 0 {
			if err := j.objects.Delete(ctx, obj.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("erasure: delete %s: %w", obj.Key, err)
			}
			o.Deleted++
		}
	}
	o.Done = true
	return j.save(j.job)
}

// vectors removes matching items from every index (and compacts each,
// so the removed texts leave the WAL and snapshots too).
func (j *runner) vectors(ctx context.Context) error {
	er, ok := j.vs.(vector.Eraser)
	if j.vs == nil || !ok {
		return nil
	}
	j.job.Phase = "vector indexes"
	infos, err := j.vs.List(ctx)
	if err != nil {
		return err
	}
	before := map[string]int{} // counts of a run this one resumes
	for _, ix := range j.job.Indexes {
		before[ix.Name] = ix.ItemsDeleted
	}
	j.job.Indexes = nil
	for _, info := range infos {
		if j.job.Only != nil && info.Dataset != "" && !slices.Contains(j.job.Only, info.Dataset) {
			continue
		}
		ids, err := er.Erase(ctx, info.Name, j.req.matchesItem)
		if err != nil {
			return err
		}
		if j.forget != nil && len(ids) > 0 {
			if err := j.forget.ForgetRows(info.Name, ids); err != nil {
				return fmt.Errorf("erasure: indexer state of %q: %w", info.Name, err)
			}
		}
		j.job.Indexes = append(j.job.Indexes, IndexProgress{Name: info.Name, ItemsDeleted: max(before[info.Name], len(ids))})
	}
	return j.save(j.job)
}

// receipt sums the job up.
func (j *Job) receipt(now time.Time) *Receipt {
	r := &Receipt{FinishedAt: now.UTC()}
	for _, d := range j.Datasets {
		if len(d.Rewrites) > 0 {
			r.Datasets++
		}
		r.VersionsRewritten += len(d.Versions)
		r.RowsErased += d.RowsErased
		for _, f := range d.Rewrites {
			if f == nil {
				r.PartsDropped++
			} else {
				r.PartsRewritten++
			}
		}
	}
	if j.Orphans != nil {
		r.OrphansDeleted = j.Orphans.Deleted
	}
	for _, ix := range j.Indexes {
		r.ItemsDeleted += ix.ItemsDeleted
	}
	r.TracesForgotten, r.EventsRedacted, r.QueriesRedacted = j.TracesForgotten, j.EventsRedacted, j.QueriesRedacted
	return r
}

func marshalJob(j *Job) ([]byte, error) {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("erasure: encode job: %w", err)
	}
	return b, nil
}

// afterStep is a test hook: the kill -9 test stops the process at a step.
var afterStep = func(step string) {}

// SetAfterStep installs the hook run after each step of a job
// ("rewrites-saved", "history-rewritten"); for crash tests only.
func SetAfterStep(f func(step string)) { afterStep = f }
