package observer_test

import (
	"fmt"
	"testing"
	"time"

	"lakehouse/app/apptest"
	"lakehouse/config"
)

// BenchmarkAuditedWriteHTTP measures what auditing adds to a write seen
// from a client: the same requests against a server with every module
// (observer included: every write is audited) and against the peer, a
// server running only storage (no AuditSink, so the middleware does
// nothing). Two workloads: PUT of a small object (fsync-bound, the real
// write path) and a write to an unknown route (404, still audited), which
// isolates the audit cost.
func BenchmarkAuditedWriteHTTP(b *testing.B) {
	const n = 500
	audited := apptest.Start(b)
	peer := apptest.Start(b, func(c *config.Config) { c.Modules = []string{"storage"} })
	run := func(s *apptest.Server, method, prefix string, status int) time.Duration {
		start := time.Now()
		for i := range n {
			resp, _ := s.Do(b, method, fmt.Sprintf("%s%d", prefix, i), "sixteen bytes!!!")
			if resp.StatusCode != status {
				b.Fatalf("%s %s%d: %d", method, prefix, i, resp.StatusCode)
			}
		}
		return time.Since(start)
	}
	for b.Loop() {
		for _, w := range []struct {
			name, method, prefix string
			status               int
		}{
			{"PUT object", "PUT", "/v1/storage/put/bench/k", 201},
			{"POST unknown route", "POST", "/v1/nosuchmodule/x", 404},
		} {
			ours := run(audited, w.method, w.prefix, w.status)
			base := run(peer, w.method, w.prefix, w.status)
			us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
			b.Logf("%-18s audited %7.1f µs/req   unaudited peer %7.1f µs/req   ratio %.2fx", w.name, us(ours), us(base), float64(ours)/float64(base))
			if w.method == "PUT" {
				b.ReportMetric(float64(ours)/float64(base), "x-peer-put")
			} else {
				b.ReportMetric(float64(ours)/float64(base), "x-peer-404")
			}
		}
	}
}
