package embed

import "lakehouse/modules/kit"

// registerMetrics publishes the embedding cache's counters (the ones GET
// /v1/embed/stats shows) on /metrics, read at scrape time; the hit rate
// over any window is rate(hits) / (rate(hits) + rate(misses)).
func (m *Module) registerMetrics(reg *kit.Metrics) error {
	return reg.CollectFunc([]kit.ScrapeMetric{
		{Name: "lakehouse_embed_cache_hits_total", Help: "Texts answered from the embedding cache.", Counter: true},
		{Name: "lakehouse_embed_cache_misses_total", Help: "Texts the provider had to embed.", Counter: true},
		{Name: "lakehouse_embed_cache_hit_ratio", Help: "Cache hits over all lookups since start."},
		{Name: "lakehouse_embed_cache_entries", Help: "Vectors held in the embedding cache."},
	}, func() []float64 {
		st := m.cache.Stats()
		return []float64{float64(st.Hits), float64(st.Misses), st.HitRate, float64(st.Size)}
	})
}
