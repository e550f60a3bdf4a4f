package indexer

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/kit"
)

// follower keeps the indexes built with follow=true in step with their
// datasets. The catalog's watcher only marks a dataset changed (it runs
// inside a commit, so it must not wait); one goroutine applies each
// change from the change feed, so an upsert of 40 rows re-embeds at most
// those 40 and a delete removes its rows from the graph and the keyword
// index, with no full rebuild.
type follower struct {
	h     *handler
	mu    sync.Mutex
	dirty map[string]bool // datasets changed since the last pass
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	// passes counts the follow steps applied (tests wait on it).
	passes int
}

func newFollower(h *handler) *follower {
	return &follower{h: h, dirty: map[string]bool{}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// mark notes that dataset changed; the run loop picks it up.
func (f *follower) mark(dataset string) {
	f.mu.Lock()
	f.dirty[dataset] = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run applies marked datasets' changes until quit. A dataset whose index
// is busy (a from-dataset run) is tried again a second later.
func (f *follower) run(ctx context.Context) {
	defer close(f.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-f.wake:
		case <-retry.C:
		}
		f.mu.Lock()
		dirty := f.dirty
		f.dirty = map[string]bool{}
		f.mu.Unlock()
		for dataset := range dirty {
			if busy := f.pass(ctx, dataset); busy {
				f.mu.Lock()
				f.dirty[dataset] = true
				f.mu.Unlock()
				retry.Reset(time.Second)
			}
		}
	}
}

// pass brings every following index of dataset up to its latest version;
// busy reports an index it could not take now.
func (f *follower) pass(ctx context.Context, dataset string) (busy bool) {
	for _, index := range f.h.followers(dataset) {
		if !f.h.runs.acquire(index) {
			busy = true
			continue
		}
		err := f.h.follow(ctx, index)
		f.h.runs.release(index)
		if err != nil {
			f.h.log.Warn("indexer: following a dataset failed; a from-dataset run brings the index back in step",
				"index", index, "dataset", dataset, "err", err)
		}
		f.mu.Lock()
		f.passes++
		f.mu.Unlock()
	}
	return busy
}

// stop ends the run loop and waits for it.
func (f *follower) stop() {
	close(f.quit)
	<-f.done
}

// followInfo is what the follower needs of one index's state file.
type followInfo struct {
	mod     time.Time
	size    int64
	dataset string
	follow  bool
}

// following maps every index whose state file says follow=true to its
// dataset. A state file holds a hash per indexed row (megabytes for a big
// index) and this runs after every commit of any dataset, so a file is
// decoded again only when its modification time or size changed.
func (h *handler) following() map[string]string {
	entries, err := os.ReadDir(h.stateDir())
	if err != nil {
		return nil
	}
	h.followMu.Lock()
	defer h.followMu.Unlock()
	if h.followCache == nil {
		h.followCache = map[string]followInfo{}
	}
	out := map[string]string{}
	seen := map[string]bool{}
	for _, e := range entries {
		index, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		seen[index] = true
		info, cached := h.followCache[index]
		if !cached || !info.mod.Equal(fi.ModTime()) || info.size != fi.Size() {
			info = followInfo{mod: fi.ModTime(), size: fi.Size()}
			if st, err := loadPipelineState(h.stateDir(), index); err == nil && st.Request != nil {
				info.dataset, info.follow = st.Dataset, st.Request.Follow
			}
			h.followCache[index] = info
		}
		if info.follow {
			out[index] = info.dataset
		}
	}
	for index := range h.followCache {
		if !seen[index] {
			delete(h.followCache, index)
		}
	}
	return out
}

// listFollowed lists the datasets some following index is built from.
func listFollowed(h *handler) []string {
	var out []string
	for _, dataset := range h.following() {
		if !slices.Contains(out, dataset) {
			out = append(out, dataset)
		}
	}
	return out
}

// followers lists the indexes built from dataset with follow=true.
func (h *handler) followers(dataset string) []string {
	var out []string
	for index, d := range h.following() {
		if d == dataset {
			out = append(out, index)
		}
	}
	slices.Sort(out)
	return out
}

// follow applies to index the versions of its dataset after the one it
// holds: from the change feed when every version between is kept with
// one schema, else by a full run (which still embeds only changed rows).
func (h *handler) follow(ctx context.Context, index string) error {
	st, err := loadPipelineState(h.stateDir(), index)
	if err != nil || st.Request == nil || !st.Request.Follow {
		return err
	}
	man, err := h.cat.Get(ctx, st.Dataset)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil // deleted: the index keeps what it had
	}
	if err != nil {
		return err
	}
	if man.Version <= st.Version {
		return nil
	}
	if err := checkColumns(man, *st.Request); err != nil {
		return err
	}
	if h.emb == nil {
		return nil
	}
	newRun := func() *pipelineRun {
		return &pipelineRun{h: h, vs: h.vs, q: h.q, emb: h.emb, index: index, req: *st.Request, manifest: man,
			sum: FromDatasetSummary{Index: index, Dataset: st.Dataset, Version: man.Version, Model: h.emb.Model(), Total: man.RowCount}}
	}
	run := newRun()
	if st.Version > 0 {
		run.changes = catalogChangeName(st.Dataset, st.Version, man.Version)
	}
	if err := run.prepare(ctx); err != nil {
		return err
	}
	err = run.execute(ctx, nil)
	var ae *kit.APIError
	if err != nil && run.changes != "" && errors.As(err, &ae) && (ae.Status == http.StatusGone || ae.Status == http.StatusConflict) {
		// A version in between expired, or the schema changed: read it all.
		h.log.Info("indexer: the change feed cannot be read; following with a full pass", "index", index, "err", err)
		run = newRun()
		if err := run.prepare(ctx); err != nil {
			return err
		}
		err = run.execute(ctx, nil)
	}
	if err == nil {
		h.log.Info("indexer: index follows its dataset", "index", index, "dataset", st.Dataset, "from", st.Version, "to", man.Version,
			"embedded", run.sum.Embedded, "unchanged", run.sum.Unchanged, "removed", run.sum.Removed)
	}
	return err
}

// catalogChangeName is the change view of versions after from up to to.
func catalogChangeName(dataset string, from, to int) string {
	return dataset + "@" + strconv.Itoa(from) + ".." + strconv.Itoa(to)
}
