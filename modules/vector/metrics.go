package vector

import (
	"cmp"
	"lakehouse/modules/kit"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxIndexSeries bounds the per-index series (items, vector memory): index
// names come from clients, so an unbounded label would let them grow the
// scrape without limit. The largest indexes by live items (ties by name)
// get their own series; the rest are summed under otherIndexes, a label no
// index can carry (names never hold parentheses, see nameRE).
const (
	maxIndexSeries = 32
	otherIndexes   = "(other)"
)

// Label values of the search metrics. Every one is from a fixed set, so the
// label sets stay bounded whatever requests say.
const (
	outcomeOK          = "ok"
	outcomeClientError = "client_error" // a 4xx: bad request, unknown index
	outcomeError       = "error"        // anything else (storage, embedder)
	modeUnknown        = "unknown"      // a mode the request spelt wrongly (400)
)

// metrics are the vector module's series on /metrics. A nil *metrics (a
// service built outside the module, as unit tests do) counts nothing.
type metrics struct {
	searches *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	plans    *prometheus.CounterVec
	added    prometheus.Counter
	deleted  prometheus.Counter
}

// registerMetrics adds the search counters and histogram, the write
// counters and the scrape-time gauges (indexes, items and vector memory
// per index, quarantined objects) to reg, and has s count into them.
func registerMetrics(reg *kit.Metrics, s *service) error {
	m := &metrics{
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_vector_searches_total",
			Help: "Vector index searches by mode (vector, keyword, hybrid, unknown) and outcome (ok, client_error, error); every caller (HTTP, workflows, pathway) counts.",
		}, []string{"mode", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakehouse_vector_search_duration_seconds",
			Help:    "Vector index search latency by mode, including embedding a text query.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"mode"}),
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_vector_search_plans_total",
			Help: "Plans the vector side of searches took: graph (HNSW walk), exact (scan chosen up front: small index or selective filter), fallback (a filtered walk came back short, starved or out of budget, and a scan answered).",
		}, []string{"plan"}),
		added: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakehouse_vector_items_added_total",
			Help: "Items added or replaced (upserts) in vector indexes.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakehouse_vector_items_deleted_total",
			Help: "Items deleted from vector indexes.",
		}),
	}
	// Pre-create the bounded series so a dashboard sees zeros, not gaps.
	for _, mode := range []string{ModeVector, ModeKeyword, ModeHybrid} {
		m.latency.WithLabelValues(mode)
		for _, o := range []string{outcomeOK, outcomeClientError, outcomeError} {
			m.searches.WithLabelValues(mode, o)
		}
	}
	for _, p := range []string{planLabel(planGraph), planLabel(planExact), planLabel(planFallback)} {
		m.plans.WithLabelValues(p)
	}
	for _, c := range []prometheus.Collector{m.searches, m.latency, m.plans, m.added, m.deleted, &stateCollector{s: s}} {
		if err := reg.Registry.Register(c); err != nil {
			return err
		}
	}
	s.met = m
	return nil
}

// planLabel is a plan's metric label.
func planLabel(plan string) string {
	if plan == planFallback {
		return "fallback"
	}
	return plan
}

// search records one search of mode (as requested) that started at start,
// took vector plan vecPlan ("" for none) and ended with err.
func (m *metrics) search(mode string, start time.Time, vecPlan string, err error) {
	if m == nil {
		return
	}
	switch mode {
	case "":
		mode = ModeVector
	case ModeVector, ModeKeyword, ModeHybrid:
	default:
		mode = modeUnknown
	}
	outcome := outcomeOK
	if err != nil {
		outcome = outcomeError
		if st := kit.AsAPIError(err).Status; st >= 400 && st < 500 {
			outcome = outcomeClientError
		}
	}
	m.searches.WithLabelValues(mode, outcome).Inc()
	if mode != modeUnknown {
		m.latency.WithLabelValues(mode).Observe(time.Since(start).Seconds())
	}
	if vecPlan != "" {
		m.plans.WithLabelValues(planLabel(vecPlan)).Inc()
	}
}

func (m *metrics) writes(added, deleted int) {
	if m == nil {
		return
	}
	m.added.Add(float64(added))
	m.deleted.Add(float64(deleted))
}

// stateCollector reads the indexes' state when Prometheus scrapes, so a
// dropped index's series disappear with it and nothing is counted twice.
type stateCollector struct{ s *service }

var (
	descIndexes = prometheus.NewDesc("lakehouse_vector_indexes",
		"Vector indexes loaded and serving.", nil, nil)
	descItems = prometheus.NewDesc("lakehouse_vector_items",
		"Live items per vector index (the 32 largest indexes by items have their own series; the rest summed under index=\"(other)\").", []string{"index"}, nil)
	descMemory = prometheus.NewDesc("lakehouse_vector_memory_bytes",
		"Memory held by each vector index's vectors (float32 or int8 rows, plus rescoring copies; same index labels as lakehouse_vector_items).", []string{"index"}, nil)
	descQuarantined = prometheus.NewDesc("lakehouse_vector_quarantined_files",
		"Objects start-up set aside (not loaded) across all vector indexes; see /ready's warnings.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIndexes, descItems, descMemory, descQuarantined} {
		ch <- d
	}
}

type indexState struct {
	name       string
	items, mem int64
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.RLock()
	all := make([]*index, 0, len(s.indexes))
	names := make([]string, 0, len(s.indexes))
	for n, ix := range s.indexes {
		all, names = append(all, ix), append(names, n)
	}
	quarantined := 0
	for _, q := range s.quarantined {
		quarantined += q.count
	}
	s.mu.RUnlock()

	states := make([]indexState, len(all))
	for i, ix := range all {
		ix.mu.RLock()
		states[i] = indexState{name: names[i], items: int64(ix.live), mem: ix.g.VectorBytes()}
		ix.mu.RUnlock()
	}
	slices.SortFunc(states, func(a, b indexState) int {
		return cmp.Or(cmp.Compare(b.items, a.items), cmp.Compare(a.name, b.name))
	})
	if len(states) > maxIndexSeries {
		other := indexState{name: otherIndexes}
		for _, st := range states[maxIndexSeries:] {
			other.items += st.items
			other.mem += st.mem
		}
		states = append(states[:maxIndexSeries], other)
	}
	ch <- prometheus.MustNewConstMetric(descIndexes, prometheus.GaugeValue, float64(len(all)))
	ch <- prometheus.MustNewConstMetric(descQuarantined, prometheus.GaugeValue, float64(quarantined))
	for _, st := range states {
		ch <- prometheus.MustNewConstMetric(descItems, prometheus.GaugeValue, float64(st.items), st.name)
		ch <- prometheus.MustNewConstMetric(descMemory, prometheus.GaugeValue, float64(st.mem), st.name)
	}
}
