package query

import (
	"context"
	"errors"
	"lakehouse/modules/kit"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the query engine's series on /metrics. A nil *metrics (a
// Service opened outside the module) counts nothing.
type metrics struct {
	duration *prometheus.HistogramVec
	timeouts prometheus.Counter
}

func newMetrics(reg *kit.Metrics) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakehouse_query_duration_seconds",
			Help:    "SQL statement latency from taking a connection to the last row handed on, by outcome (ok, error, timeout); every caller (HTTP, workflows, the indexer) counts.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"outcome"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakehouse_query_timeouts_total",
			Help: "SQL statements interrupted at their timeout (query.timeout or the request's timeout_ms).",
		}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.timeouts} {
		if err := reg.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one statement that started at start and ended with err
// under ctx (whose deadline says whether an error was the timeout).
func (m *metrics) observe(ctx context.Context, start time.Time, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		outcome = "timeout"
		m.timeouts.Inc()
	default:
		outcome = "error"
	}
	m.duration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}
