package kit

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the process's Prometheus registry. Modules register their own
// collectors on it (kit.Resolve[*kit.Metrics]); the server records every
// request by module and route template (never the raw path, so labels stay
// bounded whatever clients send).
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics builds the registry with the Go runtime and process collectors
// and the HTTP request metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_http_requests_total",
			Help: "HTTP requests served, by module, route template, method and status.",
		}, []string{"module", "route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakehouse_http_request_duration_seconds",
			Help:    "HTTP request latency, by module, route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"module", "route", "method"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration)
	return m
}

// Observe records one served request by module, route template, method
// and final status (the server's middleware calls it).
func (m *Metrics) Observe(module, route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(module, route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(module, route, method).Observe(took.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}

// ScrapeMetric names one value a module already counts, read when
// Prometheus scrapes (see Metrics.CollectFunc).
type ScrapeMetric struct {
	Name, Help string
	// Counter marks a value that only grows (rendered as a counter);
	// otherwise it is a gauge.
	Counter bool
}

// CollectFunc registers specs as metrics whose values read returns, in
// the same order, once per scrape. Modules that already keep counters
// for their own stats routes (the observer's ring, the embed cache)
// publish them this way instead of counting twice.
func (m *Metrics) CollectFunc(specs []ScrapeMetric, read func() []float64) error {
	c := &funcCollector{read: read}
	for _, s := range specs {
		c.descs = append(c.descs, prometheus.NewDesc(s.Name, s.Help, nil, nil))
		kind := prometheus.GaugeValue
		if s.Counter {
			kind = prometheus.CounterValue
		}
		c.kinds = append(c.kinds, kind)
	}
	return m.Registry.Register(c)
}

// funcCollector is the collector CollectFunc registers.
type funcCollector struct {
	descs []*prometheus.Desc
	kinds []prometheus.ValueType
	read  func() []float64
}

// Describe implements prometheus.Collector.
func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	vals := c.read()
	for i, d := range c.descs {
		if i < len(vals) {
			ch <- prometheus.MustNewConstMetric(d, c.kinds[i], vals[i])
		}
	}
}
