package vector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"sync"
	"time"

	"lakehouse/config"
	"lakehouse/modules/embed"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector/hnsw"
)

// More errors the routes map to statuses.
var (
	ErrItemNotFound = errors.New("item not found")   // 404
	ErrEmbed        = errors.New("embedding failed") // 502
)

// Limits on a request.
const (
	maxK      = 10000
	maxEf     = 100000
	maxDim    = 65536
	maxIDLen  = 1024
	defaultK  = 10
	maxNameLn = 128
	// maxWALSegments bounds the objects a start-up must list and read,
	// whatever their size: many tiny batches also trigger a compaction.
	maxWALSegments = 1024
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// service implements Service over storage.Store.
type service struct {
	store storage.Store
	emb   embed.Embedder // nil when the embed module is absent
	cfg   config.VectorConfig
	log   *slog.Logger

	mu      sync.RWMutex
	indexes map[string]*index
	// dropping names indexes whose objects are being deleted; creating the
	// name again waits for that (409) so the drop cannot delete the new
	// index's objects.
	dropping map[string]bool

	wg   sync.WaitGroup
	stop chan struct{}
}

var _ Service = (*service)(nil)

func newService(st storage.Store, emb embed.Embedder, cfg config.VectorConfig, log *slog.Logger) *service {
	return &service{store: st, emb: emb, cfg: cfg, log: log, indexes: map[string]*index{},
		dropping: map[string]bool{}, stop: make(chan struct{})}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func (s *service) get(name string) (*index, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix, ok := s.indexes[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	return ix, nil
}

// Create implements Service.
func (s *service) Create(ctx context.Context, spec IndexSpec) (IndexInfo, error) {
	if len(spec.Name) > maxNameLn || !nameRE.MatchString(spec.Name) {
		return IndexInfo{}, invalid("index name %q must be 1-%d letters, digits, '_', '-' or '.', starting with a letter, digit or '_'", spec.Name, maxNameLn)
	}
	if spec.Model != "" {
		if err := s.modelDim(ctx, &spec); err != nil {
			return IndexInfo{}, err
		}
	}
	if spec.Dim <= 0 || spec.Dim > maxDim {
		return IndexInfo{}, invalid("dimension must be in [1, %d], got %d", maxDim, spec.Dim)
	}
	metric, err := hnsw.ParseMetric(spec.Metric)
	if err != nil {
		return IndexInfo{}, invalid("%v", err)
	}
	spec.Metric = metric.String()
	if spec.M == 0 {
		spec.M = hnsw.DefaultM
	}
	if spec.EfConstruction == 0 {
		spec.EfConstruction = hnsw.DefaultEfConstruction
	}
	if spec.EfSearch == 0 {
		spec.EfSearch = hnsw.DefaultEfSearch
	}
	switch {
	case spec.M < 2 || spec.M > 256:
		return IndexInfo{}, invalid("m must be in [2, 256], got %d", spec.M)
	case spec.EfConstruction < 1 || spec.EfConstruction > 4096:
		return IndexInfo{}, invalid("ef_construction must be in [1, 4096], got %d", spec.EfConstruction)
	case spec.EfSearch < 1 || spec.EfSearch > maxEf:
		return IndexInfo{}, invalid("ef_search must be in [1, %d], got %d", maxEf, spec.EfSearch)
	}
	ix, err := newIndex(spec)
	if err != nil {
		return IndexInfo{}, invalid("%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.indexes[spec.Name]; dup {
		return IndexInfo{}, fmt.Errorf("%w: %q", ErrIndexExists, spec.Name)
	}
	if s.dropping[spec.Name] {
		return IndexInfo{}, fmt.Errorf("%w: %q is still being dropped; retry", ErrIndexExists, spec.Name)
	}
	// Leftovers of an earlier index of this name must not be replayed into
	// the new one on the next start.
	if keys, err := listAll(ctx, s.store, indexPrefix(spec.Name)); err == nil {
		for _, k := range keys {
			_ = s.store.Delete(ctx, k)
		}
	}
	if err := s.putSpec(ctx, spec); err != nil {
		return IndexInfo{}, err
	}
	s.indexes[spec.Name] = ix
	return ix.info(), nil
}

// modelDim reconciles a spec's model with the configured embedder. A
// caller that gives both model and dimension (it embeds by itself) is
// taken at its word unless the model is the embedder's and the dimensions
// disagree; without a dimension the model must be the embedder's, whose
// dimension the index takes.
func (s *service) modelDim(ctx context.Context, spec *IndexSpec) error {
	if s.emb == nil || spec.Model != s.emb.Model() {
		if spec.Dim > 0 {
			return nil
		}
		if s.emb == nil {
			return invalid("model %q requested without a dimension, and no embedder is configured", spec.Model)
		}
		return invalid("model %q is not the configured embedder's model %q; give the dimension, or use %q", spec.Model, s.emb.Model(), s.emb.Model())
	}
	dim := s.emb.Dimension()
	if dim == 0 { // a remote provider that learns its dimension from its first answer
		v, err := s.emb.EmbedBatch(ctx, []string{"dimension probe"})
		if err != nil || len(v) != 1 {
			return fmt.Errorf("%w: probe model %q for its dimension: %v", ErrEmbed, spec.Model, err)
		}
		dim = len(v[0])
	}
	if spec.Dim == 0 {
		spec.Dim = dim
	} else if spec.Dim != dim {
		return invalid("dimension %d does not match model %q's dimension %d", spec.Dim, spec.Model, dim)
	}
	return nil
}

// Info implements Service.
func (s *service) Info(_ context.Context, name string) (IndexInfo, error) {
	ix, err := s.get(name)
	if err != nil {
		return IndexInfo{}, err
	}
	return ix.info(), nil
}

// List implements Service; indexes come sorted by name.
func (s *service) List(_ context.Context) ([]IndexInfo, error) {
	s.mu.RLock()
	all := make([]*index, 0, len(s.indexes))
	for _, ix := range s.indexes {
		all = append(all, ix)
	}
	s.mu.RUnlock()
	out := make([]IndexInfo, 0, len(all))
	for _, ix := range all {
		out = append(out, ix.info())
	}
	slices.SortFunc(out, func(a, b IndexInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

// Drop implements Service: the index disappears at once, then its objects
// are deleted (the spec first, so a crash midway leaves leftovers that the
// next start removes, never a half index).
func (s *service) Drop(ctx context.Context, name string) error {
	s.mu.Lock()
	ix, ok := s.indexes[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	delete(s.indexes, name)
	s.dropping[name] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.dropping, name)
		s.mu.Unlock()
	}()

	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.dropped = true
	if err := s.store.Delete(ctx, specKey(name)); err != nil {
		return fmt.Errorf("vector: drop %q: %w", name, err)
	}
	keys, err := listAll(ctx, s.store, indexPrefix(name))
	if err != nil {
		return fmt.Errorf("vector: drop %q: %w", name, err)
	}
	for _, k := range keys {
		if err := s.store.Delete(ctx, k); err != nil {
			return fmt.Errorf("vector: drop %q: %w", name, err)
		}
	}
	return nil
}

// Add implements Service: embed texts, validate the whole batch, make it
// durable as one WAL segment, then apply it.
func (s *service) Add(ctx context.Context, name string, items []Item) error {
	ix, err := s.get(name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return invalid("items is empty")
	}
	items = slices.Clone(items)
	recordModel, err := s.embedItems(ctx, ix, items)
	if err != nil {
		return err
	}
	batch, err := validateItems(ix, items)
	if err != nil {
		return err
	}

	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if recordModel != "" && ix.spec.Model == "" {
		spec := ix.spec
		spec.Model = recordModel
		if err := s.putSpec(context.WithoutCancel(ctx), spec); err != nil {
			return err
		}
		ix.mu.Lock()
		ix.spec.Model = recordModel
		ix.mu.Unlock()
	}
	if err := s.appendWAL(ctx, ix, segment{op: opAdd, items: batch}); err != nil {
		return err
	}
	if err := ix.applyAdd(batch); err != nil {
		// Validation ran first, so this is a bug; the WAL holds the batch
		// and a restart replays it.
		return fmt.Errorf("vector: apply batch to %q: %w", name, err)
	}
	s.maybeCompact(ix)
	return nil
}

// embedItems fills Vector from Text with the index's model. It returns
// the model to record when the index had none.
func (s *service) embedItems(ctx context.Context, ix *index, items []Item) (string, error) {
	var texts []string
	var at []int
	for i, it := range items {
		if it.Vector == nil && it.Text != "" {
			texts = append(texts, it.Text)
			at = append(at, i)
		}
	}
	if len(texts) == 0 {
		return "", nil
	}
	model, err := s.checkModel(ix)
	if err != nil {
		return "", err
	}
	vecs, err := s.emb.EmbedBatch(ctx, texts)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrEmbed, err)
	}
	if len(vecs) != len(texts) {
		return "", fmt.Errorf("%w: embedder returned %d vectors for %d texts", ErrEmbed, len(vecs), len(texts))
	}
	for j, i := range at {
		items[i].Vector = vecs[j]
	}
	return model, nil
}

// checkModel returns the embedder's model when it can serve ix: same
// model (or none recorded yet) and same dimension.
func (s *service) checkModel(ix *index) (string, error) {
	ix.mu.RLock()
	spec := ix.spec
	ix.mu.RUnlock()
	if s.emb == nil {
		return "", invalid("text given but no embedder is configured; send vectors")
	}
	if spec.Model != "" && spec.Model != s.emb.Model() {
		return "", invalid("index %q holds vectors of model %q, but the configured embedder is %q", spec.Name, spec.Model, s.emb.Model())
	}
	if d := s.emb.Dimension(); d != 0 && d != spec.Dim {
		return "", invalid("embedder model %q has dimension %d, index %q has dimension %d", s.emb.Model(), s.emb.Dimension(), spec.Name, spec.Dim)
	}
	return s.emb.Model(), nil
}

// validateItems checks every item before any is applied and merges
// repeated ids in order (the last vector wins; metadata follows the
// upsert rule item by item).
func validateItems(ix *index, items []Item) ([]Item, error) {
	dim := ix.spec.Dim
	pos := map[string]int{}
	out := make([]Item, 0, len(items))
	for i, it := range items {
		switch {
		case it.ID == "":
			return nil, invalid("item %d: id is required", i)
		case len(it.ID) > maxIDLen:
			return nil, invalid("item %d: id is longer than %d bytes", i, maxIDLen)
		case it.Vector == nil:
			return nil, invalid("item %d (id %q): vector (or text) is required", i, it.ID)
		case len(it.Vector) != dim:
			return nil, invalid("item %d (id %q): vector has dimension %d, index %q has dimension %d", i, it.ID, len(it.Vector), ix.spec.Name, dim)
		}
		if err := checkVector(ix.metric, it.Vector); err != nil {
			return nil, invalid("item %d (id %q): %v", i, it.ID, err)
		}
		if err := validateMetadata(it.Metadata); err != nil {
			return nil, invalid("item %d (id %q): %v", i, it.ID, err)
		}
		it.Text = ""
		if p, seen := pos[it.ID]; seen {
			if it.Metadata == nil {
				it.Metadata = out[p].Metadata
			}
			out[p] = it
			continue
		}
		pos[it.ID] = len(out)
		out = append(out, it)
	}
	return out, nil
}

func checkVector(m hnsw.Metric, v []float32) error {
	zero := true
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("vector[%d] is not a finite number", j)
		}
		if x != 0 {
			zero = false
		}
	}
	if zero && m == hnsw.Cosine {
		return errors.New("zero vector has no direction (cosine distance)")
	}
	return nil
}

// Delete implements Service: unknown ids fail the call before anything is
// deleted.
func (s *service) Delete(ctx context.Context, name string, ids []string) error {
	ix, err := s.get(name)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return invalid("ids is empty")
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.dropped {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if miss := ix.missing(ids); len(miss) > 0 {
		return fmt.Errorf("%w: %q in index %q", ErrItemNotFound, miss[0], name)
	}
	if err := s.appendWAL(ctx, ix, segment{op: opDelete, ids: ids}); err != nil {
		return err
	}
	ix.applyDelete(ids)
	s.maybeCompact(ix)
	return nil
}

// Search implements Service.
func (s *service) Search(ctx context.Context, name string, req SearchRequest) ([]Result, error) {
	ix, err := s.get(name)
	if err != nil {
		return nil, err
	}
	if req.K == 0 {
		req.K = defaultK
	}
	if req.K < 0 || req.K > maxK {
		return nil, invalid("k must be in [1, %d], got %d", maxK, req.K)
	}
	if req.Ef < 0 || req.Ef > maxEf {
		return nil, invalid("ef must be in [0, %d], got %d", maxEf, req.Ef)
	}
	q := req.Vector
	if q == nil && req.Text != "" {
		if _, err := s.checkModel(ix); err != nil {
			return nil, err
		}
		// Search text is a query: asymmetric models (nomic under Ollama)
		// get their query prefix rather than the document one.
		vecs, err := s.emb.EmbedBatch(embed.WithPurpose(ctx, embed.Query), []string{req.Text})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEmbed, err)
		}
		if len(vecs) != 1 {
			return nil, fmt.Errorf("%w: embedder returned %d vectors for 1 text", ErrEmbed, len(vecs))
		}
		q = vecs[0]
	}
	if q == nil {
		return nil, invalid("vector (or text) is required")
	}
	if len(q) != ix.spec.Dim {
		return nil, invalid("query vector has dimension %d, index %q has dimension %d", len(q), name, ix.spec.Dim)
	}
	if err := checkVector(ix.metric, q); err != nil {
		return nil, invalid("query %v", err)
	}
	f, err := compileFilter(req.Filter)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return ix.search(q, req.K, req.Ef, f)
}

// maybeCompact queues a background compaction when the WAL outgrew its
// budget. Call with writeMu held.
func (s *service) maybeCompact(ix *index) {
	limit := int64(s.cfg.CompactWALBytes)
	if ix.compacting || ((limit <= 0 || ix.walBytes < limit) && len(ix.walSeqs) < maxWALSegments) {
		return
	}
	s.startCompaction(ix)
}

func (s *service) startCompaction(ix *index) {
	ix.compacting = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.compact(context.Background(), ix); err != nil {
			s.log.Error("vector: compaction failed", "index", ix.spec.Name, "err", err)
		}
	}()
}

// run compacts, every check interval, indexes whose WAL is older than
// compact_interval: a quiet index still ends up as one snapshot.
func (s *service) run() {
	defer s.wg.Done()
	every := s.cfg.CompactInterval.D()
	if every <= 0 {
		return
	}
	t := time.NewTicker(min(every, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.RLock()
		all := make([]*index, 0, len(s.indexes))
		for _, ix := range s.indexes {
			all = append(all, ix)
		}
		s.mu.RUnlock()
		for _, ix := range all {
			if !ix.writeMu.TryLock() {
				continue
			}
			due := !ix.compacting && len(ix.walSeqs) > 0 && time.Since(ix.lastSnap) >= every
			if due {
				s.startCompaction(ix)
			}
			ix.writeMu.Unlock()
		}
	}
}
