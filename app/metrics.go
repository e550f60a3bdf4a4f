package app

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the process's Prometheus registry. Modules register their own
// collectors on it (app.Resolve[*app.Metrics]); the server records every
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

// middleware records one request: its route template (c.Path(), "" for
// unrouted paths becomes "unmatched"), module and final status.
func (m *Metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status = toAPIError(err).Status
			}
			route := c.Path()
			if !routesOf(c).isRoute(c.Request().Method, route) {
				route = "unmatched"
			}
			module := moduleOf(c) // set from the route table
			if module == "" || route == "unmatched" {
				module = "server"
			}
			m.requests.WithLabelValues(module, route, c.Request().Method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(module, route, c.Request().Method).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// handler serves the registry in the Prometheus text format.
func (m *Metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}
