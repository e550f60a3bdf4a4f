package vector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sync"

	"lakehouse/config"
	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector/hnsw"
)

// More errors callers match with errors.Is.
var (
	ErrItemNotFound = kit.NewKind(http.StatusNotFound, "not_found", "item not found")
	// ErrEmbed marks an embedding failure; the embedder's own error,
	// wrapped with it, says how it is answered (502 with the embed code).
	ErrEmbed = errors.New("embedding failed")
)

// Limits on a request (k, ef and batch sizes come from config.VectorConfig).
const (
	maxDim   = 65536
	maxIDLen = 1024
	// maxTextBytes bounds an item's text (kept for keyword search): a
	// profile or a page, not a book.
	maxTextBytes = 1 << 20
	defaultK     = 10
	maxNameLn    = 128
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
	// rescore holds the float32 files of "rescore": "disk" indexes.
	rescore *rescoreDir

	mu      sync.RWMutex
	indexes map[string]*index
	// dropping names indexes whose objects are being deleted; creating the
	// name again waits for that (409) so the drop cannot delete the new
	// index's objects.
	dropping map[string]bool
	// failed holds the indexes whose objects could not be loaded at all
	// (left untouched; Check reports them); quarantined what start-up set
	// aside per index (Warnings reports it).
	failed      map[string]error
	quarantined map[string]quarantineState

	wg   sync.WaitGroup
	stop chan struct{}

	met *metrics // nil: not counted (a service built outside the module)
}

var _ Service = (*service)(nil)

func newService(st storage.Store, emb embed.Embedder, cfg config.VectorConfig, log *slog.Logger) *service {
	return &service{store: st, emb: emb, cfg: cfg, log: log, rescore: &rescoreDir{log: log}, indexes: map[string]*index{},
		dropping: map[string]bool{}, failed: map[string]error{}, quarantined: map[string]quarantineState{},
		stop: make(chan struct{})}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// limitError is a request over a configured limit: ErrTooLarge, and also
// ErrInvalid, so callers that only know that one still answer 400.
type limitError struct{ msg string }

func (e limitError) Error() string { return "too large: " + e.msg }

func (e limitError) Is(target error) bool { return target == ErrTooLarge || target == ErrInvalid }

// HTTPStatus implements kit.StatusError: a limit exceeded is a 413.
func (e limitError) HTTPStatus() int { return ErrTooLarge.HTTPStatus() }

// ErrorCode implements kit.StatusError.
func (e limitError) ErrorCode() string { return ErrTooLarge.ErrorCode() }

// noEmbedder is a request that needs the embedder when none runs: answered
// as embed.ErrNoEmbedder (the same 503 as every route that needs one),
// and still ErrInvalid for callers of the service.
func noEmbedder(why string) error {
	return fmt.Errorf("%w: %s (%w)", embed.ErrNoEmbedder, why, ErrInvalid)
}

func tooLarge(format string, args ...any) error { return limitError{fmt.Sprintf(format, args...)} }

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
	quant, err := hnsw.ParseQuantization(spec.Quantization)
	if err != nil {
		return IndexInfo{}, invalid("%v", err)
	}
	switch {
	case quant == hnsw.Float32 && spec.Rescore != "" && spec.Rescore != "none":
		return IndexInfo{}, invalid("rescore %q applies to quantized indexes only (give \"quantization\": \"int8\")", spec.Rescore)
	case quant == hnsw.Float32:
		spec.Quantization, spec.Rescore = "", "" // the spec stays as before int8 existed
	case spec.Rescore == "":
		spec.Quantization, spec.Rescore = quant.String(), "none"
	case spec.Rescore != "none" && spec.Rescore != "memory" && spec.Rescore != "disk":
		return IndexInfo{}, invalid("rescore must be \"none\", \"memory\" or \"disk\", got %q", spec.Rescore)
	default:
		spec.Quantization = quant.String()
	}
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
	case spec.EfSearch < 1 || spec.EfSearch > s.cfg.MaxEf:
		return IndexInfo{}, invalid("ef_search must be in [1, %d] (vector.max_ef), got %d", s.cfg.MaxEf, spec.EfSearch)
	case spec.TargetRecall != 0 && !(spec.TargetRecall >= minTargetRecall && spec.TargetRecall <= maxTargetRecall):
		return IndexInfo{}, invalid("target_recall must be in [%g, %g] (or absent), got %g", minTargetRecall, maxTargetRecall, spec.TargetRecall)
	}
	ix, err := newIndex(spec, s.rescore)
	if err != nil {
		return IndexInfo{}, invalid("%v", err)
	}
	created := false
	defer func() {
		if !created {
			release(ix.g)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.indexes[spec.Name]; dup {
		return IndexInfo{}, fmt.Errorf("%w: %q", ErrIndexExists, spec.Name)
	}
	if s.dropping[spec.Name] {
		return IndexInfo{}, fmt.Errorf("%w: %q is still being dropped; retry", ErrIndexExists, spec.Name)
	}
	if _, failed := s.failed[spec.Name]; failed {
		return IndexInfo{}, fmt.Errorf("%w: %q is in storage but could not be loaded at start-up (see /ready); restart once it can be", ErrIndexExists, spec.Name)
	}
	// Leftovers of an earlier index of this name must not be replayed into
	// the new one on the next start. Its quarantine stays: it may be
	// acknowledged data that an operator has not looked at yet.
	if keys, err := listAll(ctx, s.store, indexPrefix(spec.Name)); err == nil {
		live, _ := splitQuarantine(spec.Name, keys)
		for _, k := range live {
			_ = s.store.Delete(ctx, k)
		}
	}
	if err := s.putSpec(ctx, spec); err != nil {
		return IndexInfo{}, err
	}
	s.indexes[spec.Name] = ix
	created = true
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
			return noEmbedder(fmt.Sprintf("model %q requested without a dimension", spec.Model))
		}
		return invalid("model %q is not the configured embedder's model %q; give the dimension, or use %q", spec.Model, s.emb.Model(), s.emb.Model())
	}
	dim := s.emb.Dimension()
	if dim == 0 { // a remote provider that learns its dimension from its first answer
		v, err := s.emb.EmbedBatch(ctx, []string{"dimension probe"})
		if err != nil {
			return fmt.Errorf("%w: probe model %q for its dimension: %w", ErrEmbed, spec.Model, err)
		}
		if len(v) != 1 {
			return fmt.Errorf("%w: probe model %q for its dimension: %w", ErrEmbed, spec.Model, embed.ErrBadResponse)
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
	s.mu.Lock()
	delete(s.quarantined, name) // deleted with the rest
	s.mu.Unlock()
	ix.mu.Lock() // searches still running finish first
	release(ix.g)
	ix.mu.Unlock()
	return nil
}
