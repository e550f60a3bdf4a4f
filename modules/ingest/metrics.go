package ingest

import (
	"lakehouse/modules/kit"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are ingest's series on /metrics. A nil *metrics (an Ingester
// built outside the module, e.g. by a test) counts nothing.
type metrics struct {
	rows, bytes prometheus.Counter
	ingests     *prometheus.CounterVec
}

func newMetrics(reg *kit.Metrics) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakehouse_ingest_rows_total", Help: "CSV rows ingested into new dataset versions."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakehouse_ingest_bytes_total", Help: "CSV input bytes ingested into new dataset versions."}),
		ingests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakehouse_ingest_requests_total",
			Help: "Ingests by outcome: created (a new version), existing (an idempotent replay), failed."}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.rows, m.bytes, m.ingests} {
		if err := reg.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// done counts one finished ingest; rows and bytes only when it made a
// new version (a replay ingested nothing).
func (m *metrics) done(res Result, err error) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.ingests.WithLabelValues("failed").Inc()
	case res.Existing:
		m.ingests.WithLabelValues("existing").Inc()
	default:
		m.ingests.WithLabelValues("created").Inc()
		m.rows.Add(float64(res.Stats.Rows))
		m.bytes.Add(float64(res.Stats.InputBytes))
	}
}
