package pathway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"lakehouse/modules/embed"
	"lakehouse/modules/vector"
)

// semantic keeps a vector index of active traces' text, owned by the
// pathway module, and answers similarity queries from it.
//
// Writes do not wait for embedding (an embedder may be remote and slow,
// and the trace is already durable): a background worker embeds changed
// traces in batches. The index is derived data: at start it is rebuilt
// when its size or model disagrees with the log, and a trace not embedded
// yet is still found by the lexical fill of a semantic search.
type semantic struct {
	emb   embed.Embedder
	vec   vector.Service
	index string
	log   *slog.Logger
	// textOf returns the text to embed, ok=false when the trace is gone
	// or retired (it then leaves the index).
	textOf func(uid string) (string, bool)

	mu       sync.Mutex
	upserts  map[string]struct{}
	removals map[string]struct{}
	inflight bool
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	// ctx is cancelled by stop, so a slow embedder cannot delay shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	indexed  atomic.Int64
	failures atomic.Int64
}

// semanticBatch is how many traces one embedding call carries.
const semanticBatch = 64

func newSemantic(emb embed.Embedder, vec vector.Service, index string, log *slog.Logger, textOf func(string) (string, bool)) *semantic {
	ctx, cancel := context.WithCancel(context.Background())
	return &semantic{
		emb: emb, vec: vec, index: index, log: log, textOf: textOf,
		upserts: map[string]struct{}{}, removals: map[string]struct{}{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
}

// ensureIndex creates the index, or recreates it when the embedder's
// dimension or model changed. reindex says every active trace must be
// (re-)embedded.
func (m *semantic) ensureIndex(ctx context.Context, active int) (reindex bool, err error) {
	spec := vector.IndexSpec{Name: m.index, Dim: m.emb.Dimension(), Metric: "cosine", Model: m.emb.Model()}
	info, err := m.vec.Info(ctx, m.index)
	switch {
	case errors.Is(err, vector.ErrIndexNotFound):
		if _, err := m.vec.Create(ctx, spec); err != nil {
			return false, fmt.Errorf("pathway: create vector index %q: %w", m.index, err)
		}
		return active > 0, nil
	case err != nil:
		return false, fmt.Errorf("pathway: vector index %q: %w", m.index, err)
	}
	if info.Dim != spec.Dim || (info.Model != "" && info.Model != spec.Model) {
		m.log.Info("pathway: embedding model changed; rebuilding the vector index",
			"index", m.index, "old_model", info.Model, "new_model", spec.Model)
		if err := m.vec.Drop(ctx, m.index); err != nil {
			return false, fmt.Errorf("pathway: drop vector index %q: %w", m.index, err)
		}
		if _, err := m.vec.Create(ctx, spec); err != nil {
			return false, fmt.Errorf("pathway: recreate vector index %q: %w", m.index, err)
		}
		return active > 0, nil
	}
	return info.Length != active, nil
}

// touch queues uid for (re-)embedding.
func (m *semantic) touch(uid string) {
	m.mu.Lock()
	m.upserts[uid] = struct{}{}
	delete(m.removals, uid)
	m.mu.Unlock()
	m.signal()
}

// remove queues uid for removal from the index.
func (m *semantic) remove(uid string) {
	m.mu.Lock()
	m.removals[uid] = struct{}{}
	delete(m.upserts, uid)
	m.mu.Unlock()
	m.signal()
}

func (m *semantic) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// start runs the worker until stop.
func (m *semantic) start() { go m.run() }

func (m *semantic) stop() {
	close(m.quit)
	m.cancel()
	<-m.done
}

func (m *semantic) run() {
	defer close(m.done)
	backoff := time.Second
	for {
		select {
		case <-m.quit:
			return
		case <-m.wake:
		}
		for {
			ups, rms := m.take()
			if len(ups) == 0 && len(rms) == 0 {
				break
			}
			err := m.process(ups, rms)
			m.mu.Lock()
			m.inflight = false
			m.mu.Unlock()
			if m.ctx.Err() != nil {
				return // stopping; the next start backfills what is missing
			}
			if err == nil {
				backoff = time.Second
				continue
			}
			m.failures.Add(1)
			m.log.Warn("pathway: embedding traces failed; will retry", "err", err, "traces", len(ups), "retry_in", backoff.String())
			for _, u := range ups {
				m.touch(u)
			}
			select {
			case <-m.quit:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}

// take removes up to one batch of queued work.
func (m *semantic) take() (ups, rms []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for u := range m.removals {
		rms = append(rms, u)
		delete(m.removals, u)
	}
	for u := range m.upserts {
		if len(ups) == semanticBatch {
			break
		}
		ups = append(ups, u)
		delete(m.upserts, u)
	}
	m.inflight = len(ups)+len(rms) > 0
	return ups, rms
}

func (m *semantic) process(ups, rms []string) error {
	ctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
	defer cancel()
	var ids, texts []string
	for _, u := range ups {
		text, ok := m.textOf(u)
		if !ok || text == "" {
			rms = append(rms, u)
			continue
		}
		ids, texts = append(ids, u), append(texts, text)
	}
	if len(rms) > 0 {
		// Best effort: search filters retired traces anyway.
		if err := m.vec.Delete(ctx, m.index, rms); err != nil {
			m.log.Debug("pathway: remove from vector index", "err", err)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	vecs, err := m.emb.EmbedBatch(ctx, texts)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if len(vecs) != len(texts) {
		return fmt.Errorf("embed: %d vectors for %d texts", len(vecs), len(texts))
	}
	items := make([]vector.Item, len(ids))
	for i := range ids {
		items[i] = vector.Item{ID: ids[i], Vector: vecs[i]}
	}
	if err := m.vec.Add(ctx, m.index, items); err != nil {
		return fmt.Errorf("vector add: %w", err)
	}
	m.indexed.Add(int64(len(items)))
	return nil
}

// idle reports whether no work is queued or running.
func (m *semantic) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.inflight && len(m.upserts) == 0 && len(m.removals) == 0
}

// query embeds text and returns up to k (uid, similarity) pairs.
func (m *semantic) query(ctx context.Context, text string, k int) ([]vector.Result, error) {
	// A search text is a query, not a document: providers with asymmetric
	// prefixes (nomic's "search_query: ") embed it accordingly.
	vecs, err := m.emb.EmbedBatch(embed.WithPurpose(ctx, embed.Query), []string{text})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("embed query: %d vectors for 1 text", len(vecs))
	}
	res, err := m.vec.Search(ctx, m.index, vector.SearchRequest{Vector: vecs[0], K: k})
	if err != nil {
		return nil, fmt.Errorf("vector search: %w", err)
	}
	return res, nil
}
