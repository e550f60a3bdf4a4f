package catalog

import (
	"lakehouse/modules/kit"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxMetricDatasets bounds the dataset label: the datasets with the most
// versions get their own series, the rest none (the totals still count
// them).
const maxMetricDatasets = 32

// catalogMetrics are the catalog's series on /metrics.
type catalogMetrics struct {
	commit                        prometheus.Histogram
	expired, compacted, removedFs atomic.Int64
}

var (
	descVersions = prometheus.NewDesc("lakehouse_catalog_versions", "Versions a dataset keeps now.", []string{"dataset"}, nil)
	descParts    = prometheus.NewDesc("lakehouse_catalog_parts", "Parquet parts of a dataset's latest version.", []string{"dataset"}, nil)
	descMetaB    = prometheus.NewDesc("lakehouse_catalog_metadata_bytes", "Bytes under a dataset's Iceberg metadata folder (at its last maintenance).", []string{"dataset"}, nil)
	descMetaF    = prometheus.NewDesc("lakehouse_catalog_metadata_files", "Objects under a dataset's Iceberg metadata folder (at its last maintenance).", []string{"dataset"}, nil)
	descLast     = prometheus.NewDesc("lakehouse_catalog_last_maintenance_timestamp_seconds", "When a dataset was last maintained (Unix time).", []string{"dataset"}, nil)
	descExpired  = prometheus.NewDesc("lakehouse_catalog_versions_expired_total", "Versions retention expired.", nil, nil)
	descCompact  = prometheus.NewDesc("lakehouse_catalog_parts_compacted_total", "Small parts merged by compaction.", nil, nil)
	descRemoved  = prometheus.NewDesc("lakehouse_catalog_files_removed_total", "Unreferenced data and metadata files maintenance deleted.", nil, nil)
)

type metricsCollector struct{ s *Store }

// Describe implements prometheus.Collector.
func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descVersions, descParts, descMetaB, descMetaF, descLast, descExpired, descCompact, descRemoved} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: figures from the catalog's
// cache and the last maintenance pass, so a scrape touches no storage.
func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.cacheM.RLock()
	mans := make([]Manifest, 0, len(s.latest))
	for _, m := range s.latest {
		mans = append(mans, m)
	}
	s.cacheM.RUnlock()
	slices.SortFunc(mans, func(a, b Manifest) int {
		if a.Version != b.Version {
			return b.Version - a.Version
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(mans) > maxMetricDatasets {
		mans = mans[:maxMetricDatasets]
	}
	var status map[string]DatasetMaintenance
	if s.maint != nil {
		s.maint.mu.Lock()
		status = make(map[string]DatasetMaintenance, len(s.maint.status))
		for n, st := range s.maint.status {
			status[n] = *st
		}
		s.maint.mu.Unlock()
	}
	for _, m := range mans {
		ch <- prometheus.MustNewConstMetric(descParts, prometheus.GaugeValue, float64(len(m.Files)), m.Name)
		if st, ok := status[m.Name]; ok {
			ch <- prometheus.MustNewConstMetric(descVersions, prometheus.GaugeValue, float64(st.Versions), m.Name)
			ch <- prometheus.MustNewConstMetric(descMetaB, prometheus.GaugeValue, float64(st.MetadataBytes), m.Name)
			ch <- prometheus.MustNewConstMetric(descMetaF, prometheus.GaugeValue, float64(st.MetadataFiles), m.Name)
			ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(st.LastMaintenance.Unix()), m.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descExpired, prometheus.CounterValue, float64(s.met.expired.Load()))
	ch <- prometheus.MustNewConstMetric(descCompact, prometheus.CounterValue, float64(s.met.compacted.Load()))
	ch <- prometheus.MustNewConstMetric(descRemoved, prometheus.CounterValue, float64(s.met.removedFs.Load()))
}

// registerMetrics publishes the catalog's series.
func registerMetrics(reg *kit.Metrics, s *Store) error {
	s.met.commit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lakehouse_catalog_commit_seconds",
		Help:    "Time to commit one version (manifest object, Iceberg metadata, database), group commits counted once.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	if err := reg.Registry.Register(s.met.commit); err != nil {
		return err
	}
	return reg.Registry.Register(metricsCollector{s})
}

// observeCommit records one commit's latency.
func (s *Store) observeCommit(began time.Time) {
	if s.met.commit != nil {
		s.met.commit.Observe(time.Since(began).Seconds())
	}
}
