package observer

import "lakehouse/modules/kit"

// registerMetrics publishes the ring's fill and the counters GET
// /v1/observer/stats shows on the process's /metrics, read at scrape time.
func (m *Module) registerMetrics(reg *kit.Metrics) error {
	return reg.CollectFunc([]kit.ScrapeMetric{
		{Name: "lakehouse_observer_ring_events", Help: "Events held in the observer's in-memory ring."},
		{Name: "lakehouse_observer_ring_capacity", Help: "Events the observer's ring can hold (observer.ring_size)."},
		{Name: "lakehouse_observer_ring_bytes", Help: "Encoded size of the events in the observer's ring."},
		{Name: "lakehouse_observer_events_total", Help: "Events recorded by the observer since the data dir began (replayed at start).", Counter: true},
		{Name: "lakehouse_observer_evictions_total", Help: "Events evicted from the full ring, oldest first (no longer served from memory).", Counter: true},
		{Name: "lakehouse_observer_persist_failures_total", Help: "Event persistence failures (a failing store; events held in memory or dropped).", Counter: true},
	}, func() []float64 {
		st := m.obs.Stats()
		return []float64{float64(st.RingLen), float64(st.RingSize), float64(st.RingBytes),
			float64(st.Total), float64(st.Evicted), float64(st.PersistFailures)}
	})
}
